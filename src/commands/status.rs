//! (being written)
use crate::exit::Outcome;
pub(crate) async fn run(_ctx: &super::Ctx, _t: Option<&str>, _s: Option<&str>) -> anyhow::Result<Outcome> { anyhow::bail!("being written") }
