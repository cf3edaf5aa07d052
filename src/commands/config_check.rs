//! `shipit config check`: loads shipit.yml with every check a command would make, then says what
//! it found: environments and their services in deploy order with the settings each resolved to,
//! notification channels and evidence paths. `--json` prints the resolved `Config` instead.
//! A bad config fails with the error `config::load` gives (`file:line:col`, the line, a hint).

use std::path::Path;

use crate::config::{Config, Service};
use crate::exit::Outcome;
use crate::platform::Strategy;
use crate::probe::PathSource;
use crate::report::counted;

pub(crate) fn run(ctx: &super::Ctx) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    // Every file the config names is read, as a deploy would read it before any remote change:
    // a smoke suite with a typo fails here, with its file and line.
    for path in config
        .services()
        .filter_map(|s| s.smoke.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
    {
        crate::smoke::load(path)?;
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&config);
    } else {
        for line in summary(&config) {
            ctx.printer.out(&line);
        }
    }
    for w in crate::config::crosscheck::fly_config_warnings(&config) {
        ctx.printer.warn(&w);
    }
    let services = config.services().count();
    ctx.printer.success(&format!(
        "{} is valid: {}, {}, {}",
        config.path.display(),
        counted(config.environments.len(), "environment"),
        counted(services, "service"),
        counted(config.notify.len(), "notification channel")
    ));
    Ok(Outcome::Success)
}

/// The human summary, one line each.
fn summary(config: &Config) -> Vec<String> {
    let mut lines = vec![
        format!("config: {}", config.path.display()),
        String::new(),
        "environments:".to_owned(),
    ];
    for env in &config.environments {
        lines.push(format!(
            "  {} ({}, deployed in this order)",
            env.name,
            counted(env.services.len(), "service")
        ));
        for (i, s) in env.services.iter().enumerate() {
            lines.extend(service_lines(config, i + 1, s));
        }
    }
    lines.push(String::new());
    if config.notify.is_empty() {
        lines.push("notify: none".to_owned());
    } else {
        lines.push("notify:".to_owned());
        for c in &config.notify {
            let events: Vec<&str> = c.on.iter().map(|e| e.name()).collect();
            lines.push(format!("  {:<10} on {}", c.name(), events.join(", ")));
        }
    }
    lines.push(String::new());
    lines.push("evidence:".to_owned());
    lines.push(format!(
        "  log       {}",
        shown(config, &config.evidence.log)
    ));
    lines.push(format!(
        "  receipts  {}",
        shown(config, &config.evidence.runs)
    ));
    lines.push(format!("  state     {}", shown(config, config.state_dir())));
    lines
}

fn service_lines(config: &Config, n: usize, s: &Service) -> Vec<String> {
    let h = &s.health;
    let dur = |d| crate::duration::format(d);
    let source = match h.path_source {
        PathSource::Config => "from shipit.yml",
        PathSource::FlyToml => "from fly.toml",
        PathSource::Default => "default",
    };
    let expect: Vec<String> = h.expect.iter().map(condition_text).collect();
    let r = &s.regression;
    let latency = r.p95_ratio.map_or_else(
        || "latency not compared".to_owned(),
        |ratio| format!("p95 at most {ratio}× the baseline's + {}", dur(r.p95_slack)),
    );
    let mut lines = vec![
        format!("    {n}. {}  →  Fly app {}", s.name, s.app),
        format!("       url         {}", s.url),
        format!(
            "       fly_config  {}",
            s.fly_config.as_deref().map_or_else(
                || "none (flyctl finds fly.toml)".to_owned(),
                |p| shown(config, p)
            )
        ),
        format!(
            "       health      {} ({source}) = {}",
            h.path,
            health_url_shown(s)
        ),
        format!(
            "       gate        every {}, timeout {}, healthy after {}, unhealthy after {}, deadline {}",
            dur(h.interval),
            dur(h.timeout),
            h.healthy_after,
            h.unhealthy_after,
            dur(h.deadline)
        ),
        format!("       expect      {}", expect.join(" && ")),
        format!(
            "       regression  {} probes, {latency}, error rate at most {}%",
            r.probes,
            (r.max_error_rate * 100.0).round()
        ),
    ];
    lines.push(format!(
        "       deploy      strategy {}, timeout {}{}",
        s.strategy.map_or(
            "from fly.toml (flyctl's default: rolling)",
            Strategy::as_str
        ),
        dur(s.deploy_timeout),
        s.wait_timeout
            .map(|w| format!(", --wait-timeout {}", dur(w)))
            .unwrap_or_default()
    ));
    if let Some(image) = &s.image {
        lines.push(format!("       image       {image}"));
    }
    lines.push(format!(
        "       smoke       {}",
        s.smoke
            .as_deref()
            .map_or_else(|| "none".to_owned(), |p| shown(config, p))
    ));
    lines.push(format!(
        "       rollback    {}, watch {}",
        if s.rollback { "auto" } else { "off" },
        if s.watch.is_zero() {
            "off".to_owned()
        } else {
            dur(s.watch)
        }
    ));
    lines
}

/// A path relative to the config's folder when it is inside it.
fn shown(config: &Config, path: &Path) -> String {
    path.strip_prefix(&config.dir)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The health URL as it may be shown: masked when the base URL is a secret.
fn health_url_shown(s: &Service) -> String {
    crate::config::join_url(&s.url.to_string(), &s.health.path)
}

/// A condition as written in the config.
fn condition_text(c: &crate::probe::condition::Condition) -> String {
    match serde_json::to_value(c) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
