//! `shipit init`: writes shipit.yml, fly/*.toml, smoke suites and workflows. (Being written.)

use crate::exit::Outcome;

pub(crate) fn run(_ctx: &super::Ctx, _dir: Option<&std::path::Path>, _name: &str, _force: bool) -> anyhow::Result<Outcome> {
    anyhow::bail!("`shipit init` is being written")
}
