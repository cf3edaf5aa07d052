//! `on_partial:`: what happens to the services a run already deployed when a later service of
//! the same environment fails. `rollback` (the default) rolls them back too, in reverse order,
//! so an environment ends all-new or all-old; `keep` leaves them on their new release. Set per
//! environment (`environments.ENV.on_partial`, a reserved key like `database`) or under
//! `defaults:`; never per app, since it is about the environment as a whole.

use serde_saphyr::Spanned;

use super::error::ConfigError;

/// The key under an environment (and `defaults:`) that holds the setting, never a service.
pub const KEY: &str = "on_partial";

/// What a failed service does to the ones deployed before it in the same run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnPartial {
    /// Roll them back too, newest first, each through its health gate.
    #[default]
    Rollback,
    /// Leave them on their new release.
    Keep,
}

impl OnPartial {
    pub fn name(self) -> &'static str {
        match self {
            OnPartial::Rollback => "rollback",
            OnPartial::Keep => "keep",
        }
    }
}

/// The environment's value, else the defaults', else `rollback`. `app` is an `apps.NAME`
/// value, which is refused: the setting is about the environment.
pub(crate) fn resolve(
    env: Option<&Spanned<String>>,
    defaults: Option<&Spanned<String>>,
    err: &dyn Fn(&Spanned<String>, String) -> ConfigError,
) -> Result<OnPartial, ConfigError> {
    match env.or(defaults) {
        None => Ok(OnPartial::Rollback),
        Some(v) => parse(v, err),
    }
}

/// An `on_partial:` under `apps.NAME`: refused, naming where it belongs.
pub(crate) fn refuse_in_app(
    app: &str,
    value: &Spanned<String>,
    err: &dyn Fn(&Spanned<String>, String) -> ConfigError,
) -> ConfigError {
    err(
        value,
        format!("`apps.{app}.on_partial` is not an app setting: it is about a whole environment"),
    )
    .hint("put it under `defaults:` or under `environments.ENV:` (e.g. `on_partial: keep`)")
}

fn parse(
    v: &Spanned<String>,
    err: &dyn Fn(&Spanned<String>, String) -> ConfigError,
) -> Result<OnPartial, ConfigError> {
    match v.value.trim() {
        "rollback" => Ok(OnPartial::Rollback),
        "keep" => Ok(OnPartial::Keep),
        other => Err(err(v, format!("`on_partial: {other}` is not valid")).hint(
            "use `rollback` (the default: an environment ends all-new or all-old) or `keep`",
        )),
    }
}
