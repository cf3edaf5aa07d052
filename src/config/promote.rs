//! `promote:` in shipit.yml: how old a proving run may be.
//!
//! ```yaml
//! promote:
//!   max_age: 168h   # a staging run older than a week does not prove an image
//! ```

use std::time::Duration;

use serde::Deserialize;

use crate::duration::Dur;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPromote {
    pub max_age: Option<Dur>,
}

/// The resolved `promote:` block.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PromoteSettings {
    /// A proving run must have finished within this long; `None`: any age.
    #[serde(with = "crate::duration::opt_text")]
    pub max_age: Option<Duration>,
}

pub(crate) fn resolve(raw: Option<RawPromote>) -> PromoteSettings {
    PromoteSettings {
        max_age: raw
            .and_then(|r| r.max_age)
            .map(|d| d.0)
            .filter(|d| !d.is_zero()),
    }
}
