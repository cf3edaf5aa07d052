//! `shipit smoke ENV|APP [--junit FILE]`: the smoke suite alone. (Being written.)

use crate::exit::Outcome;

pub(crate) async fn run(_ctx: &super::Ctx, _target: &str, _service: Option<&str>, _junit: Option<&std::path::Path>) -> anyhow::Result<Outcome> {
    anyhow::bail!("`shipit smoke` is being written")
}
