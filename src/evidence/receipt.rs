//! Receipts: the whole [`RunRecord`] of a run as JSON, one file per run, named by its id. Written
//! to a temporary file in the same folder and renamed into place, so a reader never sees half of
//! one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::report::RunRecord;

/// A run id made safe as a file name.
fn file_stem(id: &str) -> String {
    let stem: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim_start_matches('.').to_owned();
    if stem.is_empty() {
        "run".to_owned()
    } else {
        stem
    }
}

/// The receipt's JSON text: the record with every string redacted.
pub fn to_json(record: &RunRecord) -> anyhow::Result<String> {
    let value = serde_json::to_value(record).context("cannot serialise the run record")?;
    let text = serde_json::to_string_pretty(&crate::secret::redact_json(value))?;
    Ok(text + "\n")
}

/// Where the receipt of run `id` is in `dir`.
pub fn path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{}.json", file_stem(id)))
}

/// Writes `<dir>/<id>.json` and returns its path.
pub fn write(dir: &Path, record: &RunRecord) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stem = file_stem(&record.id);
    let path = path(dir, &record.id);
    let tmp = dir.join(format!(
        ".{stem}.json.tmp-{}-{}",
        std::process::id(),
        crate::random::hex(4)
    ));
    let text = to_json(record)?;
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write the receipt {}", path.display()))?;
    Ok(path)
}

/// A file in the runs folder that is not a readable receipt: its path and why.
pub type Unreadable = (PathBuf, String);

/// Every receipt in `dir`, newest first, and the files that could not be read (path, why).
pub fn load_all(dir: &Path) -> anyhow::Result<(Vec<RunRecord>, Vec<Unreadable>)> {
    let mut runs = Vec::new();
    let mut bad = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((runs, bad)),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    for entry in listing {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        let is_receipt = path.extension().is_some_and(|e| e == "json")
            && path
                .file_name()
                .is_some_and(|n| !n.to_string_lossy().starts_with('.'));
        if !is_receipt {
            continue;
        }
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<RunRecord>(&t).map_err(|e| e.to_string()))
        {
            Ok(r) => runs.push(r),
            Err(e) => bad.push((path, e)),
        }
    }
    newest_first(&mut runs);
    Ok((runs, bad))
}

/// The run `query` names: `last`, a full id, or a unique prefix of one.
pub fn find(dir: &Path, query: &str) -> anyhow::Result<RunRecord> {
    let (runs, _) = load_all(dir)?;
    pick_run(runs, query, &dir.display().to_string())
}

/// Sorts runs newest first: by start time, then by id (ids start with the start time).
pub fn newest_first(runs: &mut [RunRecord]) {
    runs.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| b.id.cmp(&a.id))
    });
}

/// The run `query` names in a newest-first list: `last`, a full id, or a unique prefix of one.
/// `place` names where the runs came from, for the error.
pub fn pick_run(runs: Vec<RunRecord>, query: &str, place: &str) -> anyhow::Result<RunRecord> {
    if runs.is_empty() {
        anyhow::bail!(
            "no runs recorded in {place}\nhint: every deploy, rollback and health check leaves a receipt there"
        );
    }
    if query == "last" {
        return Ok(runs.into_iter().next().expect("not empty"));
    }
    if let Some(exact) = runs.iter().position(|r| r.id == query) {
        return Ok(runs.into_iter().nth(exact).expect("found"));
    }
    let mut matching: Vec<RunRecord> = runs
        .into_iter()
        .filter(|r| r.id.starts_with(query))
        .collect();
    match matching.len() {
        0 => anyhow::bail!(
            "no run `{query}` in {place}\nhint: `shipit history` lists the runs; `shipit explain last` shows the newest"
        ),
        1 => Ok(matching.remove(0)),
        n => {
            let ids: Vec<&str> = matching.iter().take(5).map(|r| r.id.as_str()).collect();
            let more = if n > 5 { ", ..." } else { "" };
            anyhow::bail!(
                "`{query}` matches {n} runs: {}{more}\nhint: type more of the id",
                ids.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_leave_the_folder() {
        assert_eq!(file_stem("20261127T102320Z-1a2b"), "20261127T102320Z-1a2b");
        assert_eq!(file_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem(""), "run");
    }
}
