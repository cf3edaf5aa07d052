//! `shipit explain RUN`: one past run, readably. (Being written.)

use crate::exit::Outcome;

pub(crate) fn run(_ctx: &super::Ctx, _run: &str) -> anyhow::Result<Outcome> {
    anyhow::bail!("`shipit explain` is being written")
}
