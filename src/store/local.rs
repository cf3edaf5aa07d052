//! `store: local`: the record as files in the checkout, exactly where shipit kept them before
//! there was a choice. Receipts are `<runs>/<id>.json` and the Markdown log is `evidence.log`
//! (both through `evidence`), the rollback target is `.shipit/baseline/<app>.json`, alert state
//! is one JSON document per key under `.shipit/alerts/`, promotions are lines appended to
//! `.shipit/promotions.jsonl`.
//!
//! **Invariant:** every file appears whole: documents are written to a temporary file, fsynced
//! and renamed into place; appends are one `write_all` on an append-mode handle under an
//! exclusive lock on a sidecar file, then fsync. A compare-and-set reads, compares and replaces
//! under one lock, so two processes can never both win.

use super::AlertDoc;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{
    AlertKey, AlertState, Cas, LockHolder, Locked, Promotion, RunList, RunQuery, Store,
    StoreFuture, Versioned,
};
use crate::config::EvidenceSettings;
use crate::evidence::{self, log, receipt};
use crate::report::RunRecord;

/// How long a write waits for another process's lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The record in files next to the config.
#[derive(Debug, Clone)]
pub struct LocalStore {
    log: PathBuf,
    runs: PathBuf,
    state: PathBuf,
}

impl LocalStore {
    pub fn new(settings: &EvidenceSettings) -> LocalStore {
        LocalStore {
            log: settings.log.clone(),
            runs: settings.runs.clone(),
            state: settings.state.clone(),
        }
    }

    /// The Markdown evidence log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The folder of receipts.
    pub fn runs_dir(&self) -> &Path {
        &self.runs
    }

    /// Where the receipt of run `id` is (or would be).
    pub fn receipt_path(&self, id: &str) -> PathBuf {
        receipt::path(&self.runs, id)
    }

    fn target_path(&self, app: &str) -> PathBuf {
        self.state
            .join("baseline")
            .join(format!("{}.json", file_part(app)))
    }

    fn alerts_dir(&self) -> PathBuf {
        self.state.join("alerts")
    }

    fn alert_path(&self, key: &AlertKey) -> PathBuf {
        self.alerts_dir()
            .join(file_part(&key.env))
            .join(file_part(&key.app))
            .join(format!("{}.json", file_part(&key.rule)))
    }

    fn promotions_path(&self) -> PathBuf {
        self.state.join("promotions.jsonl")
    }

    /// Appends the log entry and writes the receipt, each tried even if the other fails.
    pub fn write_run(&self, record: &RunRecord) -> anyhow::Result<()> {
        let logged = log::append(&self.log, &log::entry(record));
        let kept = receipt::write(&self.runs, record);
        match (logged, kept) {
            (Ok(()), Ok(_)) => Ok(()),
            (Err(e), Ok(path)) => Err(e.context(format!(
                "the receipt was written ({})",
                evidence::display_path(&path)
            ))),
            (Ok(()), Err(e)) => Err(e.context(format!(
                "the log entry was written ({})",
                evidence::display_path(&self.log)
            ))),
            (Err(log_error), Err(receipt_error)) => {
                Err(receipt_error.context(format!("{log_error:#}")))
            }
        }
    }

    fn read_alert(path: &Path) -> anyhow::Result<Option<AlertDoc>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let doc = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not an alert state shipit can read\nhint: delete it to start that alert afresh",
                path.display()
            )
        })?;
        Ok(Some(doc))
    }

    fn cas_alert(
        &self,
        key: &AlertKey,
        expected: Option<u64>,
        state: Option<&AlertState>,
    ) -> anyhow::Result<Cas> {
        let dir = self.alerts_dir();
        let _lock = Sidecar::take(&dir.join(".lock"))?;
        let path = self.alert_path(key);
        let current = Self::read_alert(&path)?;
        let stored_version = current.as_ref().map_or(0, |d| d.version);
        let live = current.and_then(|d| {
            d.state.map(|s| Versioned {
                version: d.version,
                value: s,
            })
        });
        let matches = match (&live, expected) {
            (None, None) => true,
            (Some(v), Some(e)) => v.version == e,
            _ => false,
        };
        if !matches {
            return Ok(Cas::Conflict(live));
        }
        // A deleted key keeps a tombstone with its version, so a version is never reused and a
        // writer holding a stale version cannot win after a delete and a re-create.
        let version = stored_version + 1;
        let doc = AlertDoc {
            version,
            key: key.clone(),
            state: state.cloned(),
        };
        let value = crate::secret::redact_json(serde_json::to_value(&doc)?);
        write_atomic(
            &path,
            (serde_json::to_string_pretty(&value)? + "\n").as_bytes(),
        )?;
        Ok(Cas::Written(version))
    }

    fn all_alerts(
        &self,
        env: Option<&str>,
    ) -> anyhow::Result<Vec<(AlertKey, Versioned<AlertState>)>> {
        let mut out = Vec::new();
        let mut folders = vec![self.alerts_dir()];
        while let Some(dir) = folders.pop() {
            let listing = match std::fs::read_dir(&dir) {
                Ok(l) => l,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
            };
            for entry in listing {
                let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    folders.push(path);
                } else if path.extension().is_some_and(|x| x == "json")
                    && let Some(doc) = Self::read_alert(&path)?
                    && let Some(entry) = doc.entry(env)
                {
                    out.push(entry);
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn append_promotion(&self, promotion: &Promotion) -> anyhow::Result<()> {
        let path = self.promotions_path();
        let _lock = Sidecar::take(&self.state.join(".promotions.lock"))?;
        let value = crate::secret::redact_json(serde_json::to_value(promotion)?);
        let line = serde_json::to_string(&value)? + "\n";
        let appended = (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new().create(true).append(true).open(&path)?;
            f.write_all(line.as_bytes())?;
            f.sync_all()
        })();
        appended.with_context(|| format!("cannot append to {}", path.display()))
    }

    fn read_promotions(&self, env: &str, service: Option<&str>) -> anyhow::Result<Vec<Promotion>> {
        let path = self.promotions_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(parse_promotions(&text, env, service))
    }

    /// Every promotion of every environment, in the order they were recorded (oldest first).
    pub fn all_promotions(&self) -> anyhow::Result<Vec<Promotion>> {
        let path = self.promotions_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(whole_lines(&text)
            .lines()
            .filter_map(|l| serde_json::from_str::<Promotion>(l).ok())
            .collect())
    }
}

/// The part of a JSON-lines text made of whole lines: a line without its newline was never
/// finished.
fn whole_lines(text: &str) -> &str {
    match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    }
}

/// Promotions of `env` (and `service`) in a JSON-lines text, newest first. Only whole lines
/// count: a line without its newline was never finished.
pub(crate) fn parse_promotions(text: &str, env: &str, service: Option<&str>) -> Vec<Promotion> {
    let mut out: Vec<Promotion> = whole_lines(text)
        .lines()
        .filter_map(|l| serde_json::from_str::<Promotion>(l).ok())
        .filter(|p| p.env == env && service.is_none_or(|s| p.service == s))
        .collect();
    out.reverse();
    out
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        format!(
            "local ({} and {})",
            evidence::display_path(&self.log),
            evidence::display_path(&self.runs)
        )
    }

    fn written_to(&self, record: &RunRecord) -> String {
        format!(
            "{}, receipt {}",
            evidence::display_path(&self.log),
            evidence::display_path(&self.receipt_path(&record.id))
        )
    }

    fn append_run<'a>(&'a self, record: &'a RunRecord) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.write_run(record) })
    }

    fn runs<'a>(&'a self, query: &'a RunQuery) -> StoreFuture<'a, RunList> {
        Box::pin(async move {
            let (runs, bad) = receipt::load_all(&self.runs)?;
            Ok(RunList {
                runs: query.select(runs),
                unreadable: bad
                    .into_iter()
                    .map(|(p, why)| (evidence::display_path(&p), why))
                    .collect(),
            })
        })
    }

    fn find_run<'a>(&'a self, id: &'a str) -> StoreFuture<'a, RunRecord> {
        Box::pin(async move { receipt::find(&self.runs, id) })
    }

    fn put_target<'a>(
        &'a self,
        app: &'a str,
        target: &'a serde_json::Value,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let path = self.target_path(app);
            let value = crate::secret::redact_json(target.clone());
            let text = serde_json::to_string_pretty(&value)? + "\n";
            write_atomic(&path, text.as_bytes())
        })
    }

    fn target<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Option<serde_json::Value>> {
        Box::pin(async move {
            let path = self.target_path(app);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot read {}", path.display()));
                }
            };
            let value = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a rollback target shipit can read",
                    path.display()
                )
            })?;
            Ok(Some(value))
        })
    }

    fn alerts<'a>(
        &'a self,
        env: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<(AlertKey, Versioned<AlertState>)>> {
        Box::pin(async move { self.all_alerts(env) })
    }

    fn put_alert<'a>(
        &'a self,
        key: &'a AlertKey,
        expected: Option<u64>,
        state: Option<&'a AlertState>,
    ) -> StoreFuture<'a, Cas> {
        Box::pin(async move { self.cas_alert(key, expected, state) })
    }

    fn add_promotion<'a>(&'a self, promotion: &'a Promotion) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.append_promotion(promotion) })
    }

    fn promotions<'a>(
        &'a self,
        env: &'a str,
        service: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<Promotion>> {
        Box::pin(async move { self.read_promotions(env, service) })
    }

    fn lock<'a>(
        &'a self,
        _app: &'a str,
        _holder: &'a LockHolder,
        _wait: Option<Duration>,
    ) -> StoreFuture<'a, Locked> {
        Box::pin(async { Ok(Locked::Unsupported) })
    }
}

/// A key part made safe as one file name: letters, digits, `-`, `_` and `.` stay, everything else
/// (and a leading `.`) becomes `%XX`, so distinct keys never share a file.
pub(crate) fn file_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, b) in text.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

/// Writes `bytes` to `path` through a temporary file in the same folder, fsynced and renamed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("a record file has a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        crate::random::hex(4)
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// An exclusive lock on a sidecar file, released when dropped (and by the OS when the process
/// dies, so a crash never leaves it stale).
struct Sidecar(File);

impl Sidecar {
    fn take(path: &Path) -> anyhow::Result<Sidecar> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Sidecar(file)),
                Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                    "cannot lock {}: another run held it for more than {}s",
                    path.display(),
                    LOCK_WAIT.as_secs()
                ),
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock {}", path.display()));
                }
            }
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parts_never_share_a_file_or_leave_the_folder() {
        assert_eq!(file_part("hotdash-staging"), "hotdash-staging");
        assert_eq!(file_part("../x"), "%2E.%2Fx");
        assert_eq!(file_part("a/b"), "a%2Fb");
        assert_ne!(file_part("a/b"), file_part("a%2Fb"));
        assert_eq!(file_part(""), "%00");
    }

    #[test]
    fn only_whole_promotion_lines_count_newest_first() {
        let p = |run: &str| Promotion {
            env: "staging".into(),
            service: "web".into(),
            app: "web-staging".into(),
            image: "registry.fly.io/web:1".into(),
            version: Some(1),
            run_id: run.into(),
            at: "2026-11-27T10:00:00Z".into(),
            all_gates_passed: true,
            proved_by: None,
        };
        let mut text = String::new();
        for run in ["r1", "r2"] {
            text.push_str(&serde_json::to_string(&p(run)).unwrap());
            text.push('\n');
        }
        text.push_str(&serde_json::to_string(&p("r3")).unwrap()[..20]);
        let got = parse_promotions(&text, "staging", Some("web"));
        let ids: Vec<&str> = got.iter().map(|p| p.run_id.as_str()).collect();
        assert_eq!(ids, ["r2", "r1"]);
        assert!(parse_promotions(&text, "production", None).is_empty());
    }
}
