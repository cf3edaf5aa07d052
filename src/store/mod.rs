//! The record: everything that must outlive one run (run receipts with their evidence entries,
//! the rollback target of a run in progress, alert state, promotions, the cross-machine deploy
//! lock), behind one [`Store`] trait so that `local`, `git` and `postgres` are interchangeable.
//!
//! This file is the contract every command codes against; the backends live beside it.
//!
//! **Invariant:** every command that reads or writes these goes through a `Store`; nothing else
//! touches receipts, the evidence log, alert files or promotion files.
//!
//! **Invariant:** a value is visible whole or not at all in every backend: a reader never sees
//! half a receipt, half an evidence entry or half an alert document.
//!
//! **Invariant:** everything a store writes has passed `secret::redact` (the backends redact, so
//! a caller cannot forget).

pub mod git;
pub mod local;
#[cfg(test)]
pub(crate) mod memory;
pub mod migrate;
pub mod postgres;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::config::store::StoreSettings;
use crate::report::RunRecord;

/// What every store method returns: a boxed future, so `Store` is object-safe (`&dyn Store`)
/// and a new backend never adds a generic parameter to the pipeline's signatures. The runtime
/// is current-thread, so the futures need not be `Send`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + 'a>>;

/// Which runs to read back, newest first.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    /// Only runs touching this Fly app or service name.
    pub app: Option<String>,
    /// Only runs of this environment.
    pub env: Option<String>,
    /// Only runs of these kinds (empty: every kind).
    pub kinds: Vec<crate::report::RunKind>,
    /// Only runs that started at or after this RFC 3339 time.
    pub since: Option<String>,
    /// At most this many (after filtering); `None`: all of them.
    pub limit: Option<usize>,
}

/// Runs read back, and the stored items that could not be read (where, and why). An unreadable
/// item is reported, never fatal.
#[derive(Debug, Default)]
pub struct RunList {
    pub runs: Vec<RunRecord>,
    pub unreadable: Vec<(String, String)>,
}

/// What an alert is about: one rule on one app of one environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertKey {
    pub env: String,
    pub app: String,
    pub rule: String,
}

impl AlertKey {
    /// `staging/hotdash-staging/http_5xx`: the stable text form (file names, `PagerDuty`'s
    /// `dedup_key`, the GitHub issue label).
    pub fn text(&self) -> String {
        format!("{}/{}/{}", self.env, self.app, self.rule)
    }
}

/// The state of one alert key, as the monitor keeps it between runs. Stored as one JSON
/// document per key; fields may be added (readers ignore what they do not know, and every new
/// field has a default), never renamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertState {
    /// `info`, `warning`, `alert`, `critical`: the level of the last finding.
    pub level: String,
    /// Open (an alert has triggered and not yet resolved).
    pub open: bool,
    /// When the condition was first seen in its current stretch (RFC 3339). Durations such as
    /// "failing for 5 minutes" run from here, never from a count of runs.
    pub first_seen: String,
    /// When it was last seen (RFC 3339).
    pub last_seen: String,
    /// Clean checks in a row since it was last seen; `resolve_after` of them resolve it.
    #[serde(default)]
    pub clean_checks: u32,
    /// The trigger message was delivered (a failed send is retried next run).
    #[serde(default)]
    pub notified: bool,
    /// The level the last delivered message announced.
    #[serde(default)]
    pub notified_level: Option<String>,
    /// One line: what was found.
    #[serde(default)]
    pub summary: String,
    /// The evidence lines behind it (masked).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// The GitHub issue opened for it, when the `github_issue` notifier did.
    #[serde(default)]
    pub issue: Option<u64>,
}

/// A stored value and the version a compare-and-set must name to replace it.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
}

/// How a compare-and-set ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Cas {
    /// Written; this is its new version.
    Written(u64),
    /// Someone else wrote first: this is what is stored now (`None`: it was deleted).
    Conflict(Option<Versioned<AlertState>>),
}

/// One image that passed one environment's gates, and the run that proved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    pub env: String,
    /// The service name (a key under `apps:`).
    pub service: String,
    pub app: String,
    pub image: String,
    pub version: Option<u64>,
    /// The id of the run whose gates it passed.
    pub run_id: String,
    /// When that run finished (RFC 3339).
    pub at: String,
    /// Every gate the config enables ran and passed; none was skipped by a flag.
    pub all_gates_passed: bool,
    /// Set when this promotion was itself a `shipit promote` into `env`: the run that proved
    /// the image in the environment it came from.
    #[serde(default)]
    pub proved_by: Option<String>,
}

/// Who holds (or asks for) an app's deploy lock, for the message a second deploy sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub host: String,
    pub pid: u32,
    pub run_id: String,
    pub run_url: Option<String>,
    /// RFC 3339.
    pub started_at: String,
}

/// A held deploy lock; dropping it releases the lock.
pub trait LockGuard {}

/// How taking a lock ended.
pub enum Locked {
    Held(Box<dyn LockGuard>),
    /// Another run holds it (as far as the store can tell who).
    Busy(Option<LockHolder>),
    /// This backend has no cross-machine lock (`local`, `git`): the per-checkout lock applies.
    Unsupported,
}

/// The record. Implemented by `local`, `git` and `postgres`; chosen by `store:` in shipit.yml.
pub trait Store {
    /// Names the store for messages, never with a secret: `local (.shipit/)`,
    /// `git (branch shipit-records of origin)`, `postgres (db.example.com:5432/postgres)`.
    fn describe(&self) -> String;

    /// Where [`Store::append_run`] put `record`, for the line a run prints after recording
    /// (`feedback/deployment.md, receipt .shipit/runs/ID.json`); by default the store's name.
    fn written_to(&self, record: &RunRecord) -> String {
        let _ = record;
        self.describe()
    }

    /// Appends a run: its receipt and its evidence entry, each whole or not at all.
    fn append_run<'a>(&'a self, record: &'a RunRecord) -> StoreFuture<'a, ()>;

    /// Runs matching the query, newest first.
    fn runs<'a>(&'a self, query: &'a RunQuery) -> StoreFuture<'a, RunList>;

    /// One run by id, a unique id prefix, or `last`.
    fn find_run<'a>(&'a self, id: &'a str) -> StoreFuture<'a, RunRecord>;

    /// The rollback target of the run in progress on `app` (a `Baseline` as JSON), written
    /// before the first remote change.
    fn put_target<'a>(&'a self, app: &'a str, target: &'a serde_json::Value)
    -> StoreFuture<'a, ()>;

    /// The last rollback target written for `app`.
    fn target<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Option<serde_json::Value>>;

    /// Every alert state, optionally of one environment, sorted by key.
    fn alerts<'a>(
        &'a self,
        env: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<(AlertKey, Versioned<AlertState>)>>;

    /// Replaces the state of `key` if its stored version is still `expected` (`None`: the key
    /// must not exist yet). `state: None` deletes it.
    fn put_alert<'a>(
        &'a self,
        key: &'a AlertKey,
        expected: Option<u64>,
        state: Option<&'a AlertState>,
    ) -> StoreFuture<'a, Cas>;

    /// Records that an image passed an environment's gates.
    fn add_promotion<'a>(&'a self, promotion: &'a Promotion) -> StoreFuture<'a, ()>;

    /// Promotions of one environment (and service, when given), newest first.
    fn promotions<'a>(
        &'a self,
        env: &'a str,
        service: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<Promotion>>;

    /// Takes the cross-machine deploy lock of `app`, waiting up to `wait` for it.
    fn lock<'a>(
        &'a self,
        app: &'a str,
        holder: &'a LockHolder,
        wait: Option<Duration>,
    ) -> StoreFuture<'a, Locked>;

    /// Copies runs and promotions recorded elsewhere (`shipit store migrate`), oldest first.
    /// Each run keeps the evidence entry it was written with; a run already here is left alone.
    /// By default one [`Store::append_run`] (which writes the entry afresh) and one
    /// [`Store::add_promotion`] each; a backend where every write is expensive (`git`: a push)
    /// writes the whole batch at once.
    fn import<'a>(&'a self, batch: &'a Import) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            for run in &batch.runs {
                self.append_run(&run.record).await?;
            }
            for promotion in &batch.promotions {
                self.add_promotion(promotion).await?;
            }
            Ok(())
        })
    }
}

/// What `shipit store migrate` copies in one go: runs (each with its evidence entry as written)
/// and promotions, oldest first.
#[derive(Debug, Default)]
pub struct Import {
    pub runs: Vec<ImportedRun>,
    pub promotions: Vec<Promotion>,
}

/// A run from another store, with its evidence entry as that store holds it (markers included).
#[derive(Debug)]
pub struct ImportedRun {
    pub record: RunRecord,
    pub entry: String,
}

/// One alert key's stored document, the same in the local and git backends: its version, its
/// key (file names are encoded; this is the truth), and its state (`None`: deleted, kept as a
/// tombstone so its version is never reused).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct AlertDoc {
    pub(crate) version: u64,
    pub(crate) key: AlertKey,
    pub(crate) state: Option<AlertState>,
}

impl AlertDoc {
    /// The live state as `alerts()` lists it, when it is not a tombstone and is of `env`.
    pub(crate) fn entry(self, env: Option<&str>) -> Option<(AlertKey, Versioned<AlertState>)> {
        let state = self.state?;
        env.is_none_or(|e| e == self.key.env).then_some((
            self.key,
            Versioned {
                version: self.version,
                value: state,
            },
        ))
    }
}

impl RunQuery {
    /// Whether a run matches: `app` is a Fly app, a service name or an environment (what
    /// `shipit history APP` has always accepted).
    pub fn matches(&self, r: &RunRecord) -> bool {
        let app_ok = self.app.as_deref().is_none_or(|a| {
            r.env.as_deref() == Some(a) || r.services.iter().any(|s| s.app == a || s.service == a)
        });
        let env_ok = self
            .env
            .as_deref()
            .is_none_or(|e| r.env.as_deref() == Some(e) || r.services.iter().any(|s| s.env == e));
        let kind_ok = self.kinds.is_empty() || self.kinds.contains(&r.kind);
        let since_ok = self
            .since
            .as_deref()
            .is_none_or(|t| r.started_at.as_str() >= t);
        app_ok && env_ok && kind_ok && since_ok
    }

    /// The matching runs of a newest-first list, at most `limit` of them.
    pub fn select(&self, runs: Vec<RunRecord>) -> Vec<RunRecord> {
        runs.into_iter()
            .filter(|r| self.matches(r))
            .take(self.limit.unwrap_or(usize::MAX))
            .collect()
    }
}

// Runs are ordered and picked the same way by every backend and by the receipt files.
pub use crate::evidence::receipt::{newest_first, pick_run};

/// The store `store:` picks, for a command that has loaded the whole config.
pub fn open(config: &Config) -> anyhow::Result<Box<dyn Store>> {
    open_settings(&config.store, &config.evidence, &config.dir)
}

/// The store of the config at `config_path`, reading only `store:` and `evidence:`: `history`
/// and `explain` must work where the deploy's own secrets are not set.
pub fn open_for_reading(config_path: &Path) -> anyhow::Result<Box<dyn Store>> {
    let store = crate::config::store::light(config_path)?;
    let evidence = crate::evidence::settings_for(config_path)?;
    let dir = config_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    open_settings(&store, &evidence, dir)
}

fn open_settings(
    store: &StoreSettings,
    evidence: &crate::config::EvidenceSettings,
    dir: &Path,
) -> anyhow::Result<Box<dyn Store>> {
    match store {
        StoreSettings::Local => Ok(Box::new(local::LocalStore::new(evidence))),
        StoreSettings::Postgres { url } => {
            Ok(Box::new(postgres::PostgresStore::new(url.as_str())?))
        }
        StoreSettings::Git { branch, remote } => {
            Ok(Box::new(git::GitStore::new(dir, branch, remote)))
        }
    }
}

impl LockHolder {
    /// This process, on this machine, for run `run_id`.
    pub fn here(run_id: &str, run_url: Option<String>, started_at: &str) -> LockHolder {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .or_else(|| crate::env_vars::non_empty("HOSTNAME"))
            .unwrap_or_else(|| "an unknown host".to_owned());
        LockHolder {
            host,
            pid: std::process::id(),
            run_id: run_id.to_owned(),
            run_url,
            started_at: started_at.to_owned(),
        }
    }

    /// `runner-1 (pid 4242), run https://github.com/o/r/actions/runs/9, started 2026-11-27T10:00:00Z`.
    pub fn describe(&self) -> String {
        let run = self.run_url.as_deref().unwrap_or(&self.run_id);
        format!(
            "{} (pid {}), run {run}, started {}",
            self.host, self.pid, self.started_at
        )
    }
}

/// How taking the record's deploy lock for one app ended, in the deploy's terms.
pub enum DeployLock {
    /// Held for as long as the value lives (`None`: this store has no cross-machine lock).
    Held(Option<Box<dyn LockGuard>>),
    /// Another run holds it: refuse the deploy with this message.
    Refused(String),
    /// The store could not be asked: a warning, and the deploy goes on (the record is never a
    /// gate).
    Unavailable(String),
}

/// Takes `app`'s cross-machine deploy lock in `store`, waiting up to `wait`.
pub async fn take_deploy_lock(
    store: &dyn Store,
    app: &str,
    holder: &LockHolder,
    wait: Option<Duration>,
) -> DeployLock {
    match store.lock(app, holder, wait).await {
        Ok(Locked::Held(guard)) => DeployLock::Held(Some(guard)),
        Ok(Locked::Unsupported) => DeployLock::Held(None),
        Ok(Locked::Busy(who)) => {
            let who = who.map_or_else(|| "another run".to_owned(), |h| h.describe());
            let waited = wait.map_or_else(String::new, |w| {
                format!(" (waited {})", crate::duration::format(w))
            });
            DeployLock::Refused(format!(
                "{app} is being deployed by {who}{waited}: its lock in {} is held\nhint: wait for it to finish, or pass --wait-lock 10m to wait",
                store.describe()
            ))
        }
        Err(e) => DeployLock::Unavailable(format!(
            "the deploy lock of {app} in {} could not be taken, deploying without it: {e:#}",
            store.describe()
        )),
    }
}
