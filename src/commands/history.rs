//! `shipit history [APP]`: past runs, newest first. (Being written.)

use crate::exit::Outcome;

pub(crate) fn run(_ctx: &super::Ctx, _app: Option<&str>, _limit: usize) -> anyhow::Result<Outcome> {
    anyhow::bail!("`shipit history` is being written")
}
