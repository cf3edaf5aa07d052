//! `shipit notify test`: one test message per configured channel. (Being written.)

use crate::exit::Outcome;

pub(crate) async fn run(_ctx: &super::Ctx) -> anyhow::Result<Outcome> {
    anyhow::bail!("`shipit notify test` is being written")
}
