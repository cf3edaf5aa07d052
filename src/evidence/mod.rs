//! Evidence: every run leaves an entry in the Markdown deployment log (`evidence.log`, default
//! `feedback/deployment.md`) and a JSON receipt of its whole [`RunRecord`] in `evidence.runs`
//! (default `.shipit/runs/<run id>.json`). `shipit history` and `shipit explain` read the
//! receipts back.
//!
//! **Invariant:** everything written here is redacted, log entries are appended whole under an
//! exclusive lock (two runs never interleave), and receipts appear by rename (a crash never leaves
//! half a receipt).

pub mod log;
pub mod receipt;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::config::EvidenceSettings;
use crate::report::RunRecord;

/// Where one run's evidence went, or why it could not be written.
#[derive(Debug)]
pub struct Written {
    pub log: anyhow::Result<PathBuf>,
    pub receipt: anyhow::Result<PathBuf>,
}

/// Appends the run's log entry and writes its receipt. Each is tried even if the other fails.
pub fn record(settings: &EvidenceSettings, record: &RunRecord) -> Written {
    let log = log::append(&settings.log, &log::entry(record)).map(|()| settings.log.clone());
    let receipt = receipt::write(&settings.runs, record);
    Written { log, receipt }
}

/// Where the evidence of a config lives, read from the config without loading the rest of it:
/// `shipit history` must work on a machine where the deploy's `${VAR}` secrets are not set.
/// Mirrors the defaults of [`crate::config::load`] (a test keeps the two in step).
pub fn settings_for(config_path: &Path) -> anyhow::Result<EvidenceSettings> {
    #[derive(serde::Deserialize, Default)]
    struct Light {
        evidence: Option<LightEvidence>,
    }
    #[derive(serde::Deserialize, Default)]
    struct LightEvidence {
        log: Option<String>,
        runs: Option<String>,
    }
    let text = std::fs::read_to_string(config_path).with_context(|| {
        format!(
            "cannot read the config file {}\nhint: run it from the folder of shipit.yml, or pass --config FILE",
            config_path.display()
        )
    })?;
    let light: Light = serde_saphyr::from_str(&text).unwrap_or_default();
    let dir = config_path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let evidence = light.evidence.unwrap_or_default();
    let state = dir.join(crate::config::STATE_DIR);
    let runs = evidence
        .runs
        .map_or_else(|| state.join("runs"), |r| dir.join(r));
    let log = dir.join(
        evidence
            .log
            .unwrap_or_else(|| "feedback/deployment.md".to_owned()),
    );
    Ok(EvidenceSettings { log, runs, state })
}

/// A path as the user would type it: relative to the current folder when it is inside it.
pub fn display_path(path: &Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    rel.unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
