//! A target on the command line, resolved in one place: an environment (`staging`), one
//! service of it (`staging --app web`), or a Fly app name (`hotdash-staging`).

use super::{Config, Service, closest};

/// The services a command acts on, in deploy order.
pub fn resolve<'c>(
    config: &'c Config,
    target: &str,
    service: Option<&str>,
) -> anyhow::Result<Vec<&'c Service>> {
    if let Some(env) = config.environment(target) {
        return match service {
            None => Ok(env.services.iter().collect()),
            Some(name) => {
                if let Some(s) = env
                    .services
                    .iter()
                    .find(|s| s.name == name || s.app == name)
                {
                    Ok(vec![s])
                } else {
                    let names: Vec<&str> = env.services.iter().map(|s| s.name.as_str()).collect();
                    let hint = closest(name, names.iter().copied()).map_or_else(
                        || format!("its services: {}", names.join(", ")),
                        |b| format!("did you mean `{b}`?"),
                    );
                    anyhow::bail!("environment `{target}` has no service `{name}`\nhint: {hint}")
                }
            }
        };
    }
    if let Some(s) = config.services().find(|s| s.app == target) {
        if let Some(name) = service
            && name != s.name
            && name != s.app
        {
            anyhow::bail!(
                "`{target}` is the Fly app of {}, not of service `{name}`\nhint: drop --app, or name the environment: `{} --app {name}`",
                s.label(),
                s.env
            );
        }
        return Ok(vec![s]);
    }
    let mut names: Vec<&str> = config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    names.extend(config.services().map(|s| s.app.as_str()));
    let hint = closest(target, names.iter().copied()).map_or_else(
        || {
            format!(
                "environments: {}; Fly apps: {}",
                config
                    .environments
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                config
                    .services()
                    .map(|s| s.app.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        |b| format!("did you mean `{b}`?"),
    );
    anyhow::bail!(
        "`{target}` is neither an environment nor a Fly app in {}\nhint: {hint}",
        config.path.display()
    )
}

/// Refuses services that are not all of environment `env`: `rollback APP --env production`
/// with a staging app (or a typo'd environment) does nothing.
pub fn check_membership(config: &Config, services: &[&Service], env: &str) -> anyhow::Result<()> {
    if config.environment(env).is_none() {
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        anyhow::bail!(
            "--env `{env}` is not an environment of the config; nothing was done\nhint: its environments: {}",
            names.join(", ")
        );
    }
    if let Some(other) = services.iter().find(|s| s.env != env) {
        anyhow::bail!(
            "{} belongs to environment `{}`, not `{env}`; nothing was done\nhint: a workflow run in `{env}` has that environment's secrets only: choose `{}` instead",
            other.label(),
            other.env,
            other.env
        );
    }
    Ok(())
}
