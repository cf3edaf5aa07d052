//! What shipit reads from an app's fly.toml: its app name and the first HTTP health check path,
//! the default for `health.path`.

use std::path::Path;

use anyhow::Context;

/// The parts of fly.toml shipit uses.
#[derive(Debug, Clone, Default)]
pub struct FlyToml {
    pub app: Option<String>,
    /// The first HTTP check path: `[[http_service.checks]]`, then `[[services.http_checks]]`,
    /// then `[checks.NAME]` with `type = "http"`.
    pub health_path: Option<String>,
    pub strategy: Option<String>,
}

pub fn read(path: &Path) -> anyhow::Result<FlyToml> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub fn parse(text: &str) -> Result<FlyToml, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_owned();
        match e.span() {
            Some(span) => {
                let line = text[..span.start].matches('\n').count() + 1;
                format!("line {line}: {msg} (not valid TOML)")
            }
            None => format!("{msg} (not valid TOML)"),
        }
    })?;
    let app = doc.get("app").and_then(|v| v.as_str()).map(str::to_owned);
    let strategy = doc
        .get("deploy")
        .and_then(|d| d.get("strategy"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let http_service_check = doc
        .get("http_service")
        .and_then(|s| s.get("checks"))
        .and_then(|c| c.as_array())
        .and_then(|checks| checks.iter().find_map(|c| c.get("path")?.as_str()));
    let services_check = || {
        doc.get("services")?.as_array()?.iter().find_map(|svc| {
            svc.get("http_checks")?
                .as_array()?
                .iter()
                .find_map(|c| c.get("path")?.as_str())
        })
    };
    let top_level_check = || {
        doc.get("checks")?.as_table()?.values().find_map(|c| {
            (c.get("type")?.as_str()? == "http").then_some(())?;
            c.get("path")?.as_str()
        })
    };
    let health_path = http_service_check
        .or_else(services_check)
        .or_else(top_level_check)
        .map(str::to_owned);
    Ok(FlyToml {
        app,
        health_path,
        strategy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_http_check_in_each_form() {
        let t = parse("app='a'\n[[http_service.checks]]\npath='/health'\n").unwrap();
        assert_eq!(t.health_path.as_deref(), Some("/health"));
        assert_eq!(t.app.as_deref(), Some("a"));
        let t = parse("[[services]]\n[[services.http_checks]]\npath='/healthcheck'\n").unwrap();
        assert_eq!(t.health_path.as_deref(), Some("/healthcheck"));
        let t = parse("[checks.tcp]\ntype='tcp'\n[checks.web]\ntype='http'\npath='/up'\n").unwrap();
        assert_eq!(t.health_path.as_deref(), Some("/up"));
        assert_eq!(parse("app='x'\n").unwrap().health_path, None);
    }

    #[test]
    fn bad_toml_names_the_line() {
        let e = parse("app = 'x'\n[http_service\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
