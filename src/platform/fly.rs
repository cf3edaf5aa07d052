//! The Fly adapter: runs flyctl (being written).

use std::path::PathBuf;

pub struct Fly {
    pub path: PathBuf,
}

impl Fly {
    pub fn locate() -> anyhow::Result<Fly> {
        anyhow::bail!("being written")
    }
}
