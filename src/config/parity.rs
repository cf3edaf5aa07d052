//! `parity:` in shipit.yml: which drifts between environments the config allows.
//!
//! ```yaml
//! parity:
//!   ignore: [deploy.release_command, env.DEBUG, secrets.SENTRY_DSN, guest.worker]
//! ```
//!
//! Each entry is a drift key as `shipit parity` prints it (a fly.toml path such as
//! `http_service.concurrency`, `guest.<group>.<field>`, `env.<KEY>`, `secrets.<NAME>`, `image`)
//! or a prefix of one ending at a `.` or `[`.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::ConfigError;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParity {
    pub ignore: Option<Vec<Spanned<String>>>,
}

/// The resolved `parity:` block.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ParitySettings {
    pub ignore: Vec<String>,
}

pub(crate) fn resolve(
    raw: Option<RawParity>,
    err: &dyn Fn(&Spanned<String>, String) -> ConfigError,
) -> Result<ParitySettings, ConfigError> {
    let mut ignore = Vec::new();
    for key in raw.and_then(|r| r.ignore).unwrap_or_default() {
        let k = key.value.trim();
        let well_formed = !k.is_empty()
            && !k.starts_with(['.', '['])
            && !k.ends_with(['.', '['])
            && !k.contains("..")
            && !k.contains(char::is_whitespace);
        if !well_formed {
            return Err(err(
                &key,
                format!("`parity.ignore` entry `{}` is not a drift key", key.value),
            )
            .hint("write a key as `shipit parity` prints it, e.g. `deploy.release_command`, `env.DEBUG`, `secrets.SENTRY_DSN`"));
        }
        ignore.push(k.to_owned());
    }
    Ok(ParitySettings { ignore })
}
