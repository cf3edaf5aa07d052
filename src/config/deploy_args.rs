//! `deploy_args:` under `defaults:` or `apps.NAME:`: flyctl deploy flags passed through (build
//! args, build secrets, `--local-only`, `--dockerfile`...), as a list of words. An app's list
//! replaces the defaults' (like every other key). Each word may hold `${VAR}` (a secret, masked
//! everywhere). Checked here against the flags real flyctl deploy has
//! (`platform::deploy_args::parse`): an unknown flag, or one shipit sets itself, is a config
//! error naming the key and the flag.

use serde_saphyr::Spanned;

use super::error::ConfigError;
use crate::platform::deploy_args::{DeployArgs, parse};
use crate::scalar::Text;

/// The app's `deploy_args:`, else the defaults', checked.
pub(crate) fn resolve(
    app_name: &str,
    defaults: Option<&Vec<Spanned<Text>>>,
    app: Option<&Vec<Spanned<Text>>>,
    err: &dyn Fn(&Spanned<Text>, String) -> ConfigError,
) -> Result<DeployArgs, ConfigError> {
    let (key, words) = match (app, defaults) {
        (Some(a), _) => (format!("apps.{app_name}.deploy_args"), a),
        (None, Some(d)) => ("defaults.deploy_args".to_owned(), d),
        (None, None) => return Ok(DeployArgs::default()),
    };
    let text: Vec<String> = words.iter().map(|w| w.value.as_str().to_owned()).collect();
    parse(&text).map_err(|(at, why)| {
        let at = words.get(at).unwrap_or(&words[0]);
        err(at, format!("`{key}`: {why}")).hint(
            "deploy_args takes flyctl deploy flags, one word each: [\"--build-arg\", \"NODE_ENV=production\", \"--local-only\"]",
        )
    })
}
