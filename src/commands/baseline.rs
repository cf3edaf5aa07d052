//! (being written)
use crate::exit::Outcome;
pub(crate) async fn run(_ctx: &super::Ctx, _t: &str, _s: Option<&str>, _n: Option<u32>) -> anyhow::Result<Outcome> { anyhow::bail!("being written") }
