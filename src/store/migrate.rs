//! `shipit store migrate --from local`: the runs (receipts with their evidence entries), alert
//! states and promotions kept in the checkout's files, copied into the store `store:` names.
//!
//! **Invariant:** a migration only adds: it never changes or deletes anything in either store,
//! and a second migration copies nothing (runs are matched by id, promotions by value, alert
//! states by key), so it can be re-run after a failure or by two people at once.

use std::collections::{BTreeSet, HashMap, HashSet};

use anyhow::Context as _;

use super::local::LocalStore;
use super::{Cas, Import, ImportedRun, RunQuery, Store};
use crate::evidence::log;

/// How many of one kind of item were copied, and how many the store already held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub copied: usize,
    pub present: usize,
}

/// What a migration did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Migration {
    pub runs: Counts,
    pub alerts: Counts,
    pub promotions: Counts,
    /// Evidence entries of the local log with no receipt beside them: a run is copied as its
    /// receipt and its entry together, so these stay where they are.
    pub entries_without_receipt: Vec<String>,
    /// Local items that could not be read (where, why): not copied.
    pub unreadable: Vec<(String, String)>,
}

impl Migration {
    /// Nothing was copied: everything was there already (or there was nothing).
    pub fn copied_nothing(&self) -> bool {
        self.runs.copied + self.alerts.copied + self.promotions.copied == 0
    }
}

/// Copies what `from` holds and `to` does not: runs (oldest first, each with the evidence entry
/// the local log has for it, or one written afresh when the log has none), promotions (in the
/// order they were recorded), then alert states of keys `to` does not hold.
pub async fn migrate(from: &LocalStore, to: &dyn Store) -> anyhow::Result<Migration> {
    let mut done = Migration::default();
    let local = from
        .runs(&RunQuery::default())
        .await
        .with_context(|| format!("cannot read the runs of {}", from.describe()))?;
    done.unreadable = local.unreadable;
    let entries = local_entries(from)?;

    let there = to
        .runs(&RunQuery::default())
        .await
        .with_context(|| format!("cannot read the runs of {}", to.describe()))?;
    let present: HashSet<String> = there.runs.into_iter().map(|r| r.id).collect();

    let receipts: HashSet<&str> = local.runs.iter().map(|r| r.id.as_str()).collect();
    let mut orphans: BTreeSet<String> = BTreeSet::new();
    for id in entries.keys() {
        if !receipts.contains(id.as_str()) {
            orphans.insert(id.clone());
        }
    }
    done.entries_without_receipt = orphans.into_iter().collect();

    let mut batch = Import::default();
    // `runs` is newest first; the log and the tables are appended oldest first.
    for record in local.runs.into_iter().rev() {
        if present.contains(&record.id) {
            done.runs.present += 1;
            continue;
        }
        let entry = entries
            .get(&record.id)
            .cloned()
            .unwrap_or_else(|| log::entry(&record));
        batch.runs.push(ImportedRun { record, entry });
    }
    done.runs.copied = batch.runs.len();

    let promotions = from.all_promotions()?;
    let mut theirs: HashMap<String, Vec<super::Promotion>> = HashMap::new();
    for p in &promotions {
        if !theirs.contains_key(&p.env) {
            let held = to
                .promotions(&p.env, None)
                .await
                .with_context(|| format!("cannot read the promotions of {}", to.describe()))?;
            theirs.insert(p.env.clone(), held);
        }
    }
    for p in promotions {
        if theirs.get(&p.env).is_some_and(|held| held.contains(&p)) {
            done.promotions.present += 1;
        } else {
            batch.promotions.push(p);
        }
    }
    done.promotions.copied = batch.promotions.len();

    if !batch.runs.is_empty() || !batch.promotions.is_empty() {
        to.import(&batch)
            .await
            .with_context(|| format!("cannot copy into {}", to.describe()))?;
    }

    let alerts = from
        .alerts(None)
        .await
        .with_context(|| format!("cannot read the alert states of {}", from.describe()))?;
    for (key, state) in alerts {
        // `None`: only a key the store does not hold is written, so a second migration (or an
        // alert the monitor has already moved on in the new store) is left alone.
        match to
            .put_alert(&key, None, Some(&state.value))
            .await
            .with_context(|| format!("cannot copy alert {} into {}", key.text(), to.describe()))?
        {
            Cas::Written(_) => done.alerts.copied += 1,
            Cas::Conflict(_) => done.alerts.present += 1,
        }
    }
    Ok(done)
}

/// The whole entries of the local evidence log by run id, as they were written (markers and
/// all). A cut entry (a run killed mid-append) is not one.
fn local_entries(from: &LocalStore) -> anyhow::Result<HashMap<String, String>> {
    let path = from.log_path();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    Ok(log::entries(&text)
        .into_iter()
        .filter(|e| e.complete)
        .map(|e| {
            let (start, end) = log::markers(&e.id);
            let text = format!("\n{start}{}{end}\n", e.body);
            (e.id, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EvidenceSettings;
    use crate::store::memory::MemoryStore;
    use crate::store::{AlertKey, AlertState, Promotion};

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn local(dir: &std::path::Path) -> LocalStore {
        LocalStore::new(&EvidenceSettings {
            log: dir.join("feedback/deployment.md"),
            runs: dir.join(".shipit/runs"),
            state: dir.join(".shipit"),
        })
    }

    fn record(id: &str, started: &str) -> crate::report::RunRecord {
        let mut r = crate::commands::new_record(
            crate::report::RunKind::Deploy,
            Some("staging".into()),
            std::time::SystemTime::UNIX_EPOCH,
        );
        r.id = id.into();
        r.started_at = started.into();
        r.finished_at = started.into();
        r
    }

    #[test]
    fn copies_what_is_missing_once_and_reports_entries_without_receipts() {
        let dir = tempfile::tempdir().unwrap();
        let from = local(dir.path());
        let to = MemoryStore::default();
        block_on(async {
            from.append_run(&record("20261127T100000Z-a", "2026-11-27T10:00:00Z"))
                .await
                .unwrap();
            from.append_run(&record("20261127T110000Z-b", "2026-11-27T11:00:00Z"))
                .await
                .unwrap();
            // An entry whose receipt is gone.
            log::append(
                from.log_path(),
                &log::entry(&record("20261127T090000Z-gone", "2026-11-27T09:00:00Z")),
            )
            .unwrap();
            let key = AlertKey {
                env: "staging".into(),
                app: "web".into(),
                rule: "http_5xx".into(),
            };
            from.put_alert(&key, None, Some(&AlertState::default()))
                .await
                .unwrap();
            let p = Promotion {
                env: "staging".into(),
                service: "web".into(),
                app: "web-staging".into(),
                image: "registry.fly.io/web:1".into(),
                version: Some(1),
                run_id: "20261127T100000Z-a".into(),
                at: "2026-11-27T10:00:00Z".into(),
                all_gates_passed: true,
                proved_by: None,
            };
            from.add_promotion(&p).await.unwrap();

            let first = migrate(&from, &to).await.unwrap();
            assert_eq!(
                first.runs,
                Counts {
                    copied: 2,
                    present: 0
                }
            );
            assert_eq!(
                first.alerts,
                Counts {
                    copied: 1,
                    present: 0
                }
            );
            assert_eq!(
                first.promotions,
                Counts {
                    copied: 1,
                    present: 0
                }
            );
            assert_eq!(first.entries_without_receipt, ["20261127T090000Z-gone"]);
            let ids: Vec<String> = to
                .runs(&RunQuery::default())
                .await
                .unwrap()
                .runs
                .into_iter()
                .map(|r| r.id)
                .collect();
            assert_eq!(ids, ["20261127T110000Z-b", "20261127T100000Z-a"]);

            let second = migrate(&from, &to).await.unwrap();
            assert!(second.copied_nothing());
            assert_eq!(
                second.runs,
                Counts {
                    copied: 0,
                    present: 2
                }
            );
            assert_eq!(
                second.alerts,
                Counts {
                    copied: 0,
                    present: 1
                }
            );
            assert_eq!(
                second.promotions,
                Counts {
                    copied: 0,
                    present: 1
                }
            );
            assert_eq!(to.promotions("staging", None).await.unwrap(), [p]);
        });
    }
}
