//! (being written)

use crate::exit::Outcome;

pub(crate) async fn run(_ctx: &super::Ctx, _s: crate::settings::DeploySettings) -> anyhow::Result<Outcome> {
    anyhow::bail!("being written")
}
