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

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

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
}
