//! (being written)
use crate::exit::Outcome;
pub(crate) async fn run(_ctx: &super::Ctx, _d: Option<&std::path::Path>) -> anyhow::Result<Outcome> { anyhow::bail!("being written") }
