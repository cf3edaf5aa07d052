//! `gates:`: the pipeline gates that are off unless the config turns them on. Today:
//! `database: true` runs `db verify` after the deploy in every environment that has a
//! `database:` block, and lints its new migrations with squawk before the deploy.

use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGates {
    pub database: Option<bool>,
}

/// The optional gates, resolved.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Gates {
    /// Verify the environment's database after the deploy (where it has one).
    pub database: bool,
}

pub(crate) fn resolve(raw: Option<&RawGates>) -> Gates {
    Gates {
        database: raw.and_then(|g| g.database).unwrap_or(false),
    }
}
