//! Checks across environments that are warnings, not errors: a config can be valid and still
//! point a staging service at production's fly.toml (copy and paste), which deploys staging with
//! production's VM sizes, env and mounts — flyctl's `--app` wins over the file's `app`, so nothing
//! else notices.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Config;

/// One line per suspicious `fly_config:`; empty when every service's file is its own.
pub fn fly_config_warnings(config: &Config) -> Vec<String> {
    // Which environment each Fly app belongs to, and who uses each fly.toml.
    let mut env_of_app: BTreeMap<&str, &str> = BTreeMap::new();
    let mut users: BTreeMap<&PathBuf, Vec<String>> = BTreeMap::new();
    for env in &config.environments {
        for s in &env.services {
            env_of_app.insert(s.app.as_str(), env.name.as_str());
            if let Some(f) = &s.fly_config {
                users.entry(f).or_default().push(s.label());
            }
        }
    }
    let mut warnings = Vec::new();
    for env in &config.environments {
        for s in &env.services {
            let Some(file) = &s.fly_config else { continue };
            let Ok(toml) = super::flytoml::read(&config.dir.join(file)) else {
                continue;
            };
            let Some(file_app) = toml.app.filter(|a| a != &s.app) else {
                continue;
            };
            match env_of_app.get(file_app.as_str()) {
                Some(other) if *other != env.name => warnings.push(format!(
                    "{} uses {}, which is {other}'s fly.toml (app `{file_app}`): a deploy of {} would take {other}'s settings",
                    s.label(),
                    file.display(),
                    env.name
                )),
                _ => warnings.push(format!(
                    "{} uses {}, whose `app` is `{file_app}`, not `{}`: flyctl deploys `{}` with that file's settings",
                    s.label(),
                    file.display(),
                    s.app,
                    s.app
                )),
            }
        }
    }
    for (file, who) in users {
        if who.len() > 1 {
            warnings.push(format!(
                "{} share {}: each environment should have its own fly.toml",
                who.join(" and "),
                file.display()
            ));
        }
    }
    warnings
}
