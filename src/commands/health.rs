//! `shipit health ENV|APP`: one spot check per app with an escalation verdict. (Being written.)

use crate::exit::Outcome;

pub(crate) async fn run(_ctx: &super::Ctx, _target: &str, _service: Option<&str>) -> anyhow::Result<Outcome> {
    anyhow::bail!("`shipit health` is being written")
}
