//! (being written)
use crate::exit::Outcome;
pub(crate) fn run(_ctx: &super::Ctx) -> anyhow::Result<Outcome> { anyhow::bail!("being written") }
