//! An in-memory [`Store`] for unit tests only: alert compare-and-set as the contract says,
//! runs (newest first, filtered by [`RunQuery::select`]), targets and promotions in memory.
//! The monitor's and the promotion rule's tests share it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::report::RunRecord;
use crate::store::{
    AlertKey, AlertState, Cas, LockHolder, Locked, Promotion, RunList, RunQuery, Store,
    StoreFuture, Versioned,
};

#[derive(Default)]
pub(crate) struct MemoryStore {
    alerts: RefCell<BTreeMap<AlertKey, Versioned<AlertState>>>,
    next_version: RefCell<u64>,
    runs: RefCell<Vec<RunRecord>>,
    targets: RefCell<BTreeMap<String, serde_json::Value>>,
    promotions: RefCell<Vec<Promotion>>,
}

impl MemoryStore {
    pub(crate) fn alert(&self, env: &str, app: &str, rule: &str) -> Option<AlertState> {
        let key = AlertKey {
            env: env.into(),
            app: app.into(),
            rule: rule.into(),
        };
        self.alerts.borrow().get(&key).map(|v| v.value.clone())
    }

    /// Changes a stored state behind the engine's back, as another run would.
    pub(crate) fn tamper(&self, key: &AlertKey, f: impl FnOnce(&mut AlertState)) {
        let mut alerts = self.alerts.borrow_mut();
        let v = alerts.get_mut(key).expect("stored");
        f(&mut v.value);
        *self.next_version.borrow_mut() += 1;
        v.version = *self.next_version.borrow();
    }
}

impl Store for MemoryStore {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn append_run<'a>(&'a self, record: &'a RunRecord) -> StoreFuture<'a, ()> {
        self.runs.borrow_mut().insert(0, record.clone());
        Box::pin(async { Ok(()) })
    }

    fn runs<'a>(&'a self, query: &'a RunQuery) -> StoreFuture<'a, RunList> {
        let runs = query.select(self.runs.borrow().clone());
        Box::pin(async move {
            Ok(RunList {
                runs,
                unreadable: Vec::new(),
            })
        })
    }

    fn find_run<'a>(&'a self, id: &'a str) -> StoreFuture<'a, RunRecord> {
        let found = self
            .runs
            .borrow()
            .iter()
            .find(|r| id == "last" || r.id.starts_with(id))
            .cloned();
        Box::pin(async move { found.ok_or_else(|| anyhow::anyhow!("no run {id}")) })
    }

    fn put_target<'a>(
        &'a self,
        app: &'a str,
        target: &'a serde_json::Value,
    ) -> StoreFuture<'a, ()> {
        self.targets.borrow_mut().insert(app.into(), target.clone());
        Box::pin(async { Ok(()) })
    }

    fn target<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Option<serde_json::Value>> {
        let t = self.targets.borrow().get(app).cloned();
        Box::pin(async move { Ok(t) })
    }

    fn alerts<'a>(
        &'a self,
        env: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<(AlertKey, Versioned<AlertState>)>> {
        let list = self
            .alerts
            .borrow()
            .iter()
            .filter(|(k, _)| env.is_none_or(|e| k.env == e))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Box::pin(async move { Ok(list) })
    }

    fn put_alert<'a>(
        &'a self,
        key: &'a AlertKey,
        expected: Option<u64>,
        state: Option<&'a AlertState>,
    ) -> StoreFuture<'a, Cas> {
        let mut alerts = self.alerts.borrow_mut();
        let now = alerts.get(key).map(|v| v.version);
        let result = if now == expected {
            if let Some(s) = state {
                *self.next_version.borrow_mut() += 1;
                let version = *self.next_version.borrow();
                alerts.insert(
                    key.clone(),
                    Versioned {
                        version,
                        value: s.clone(),
                    },
                );
                Cas::Written(version)
            } else {
                alerts.remove(key);
                Cas::Written(0)
            }
        } else {
            Cas::Conflict(alerts.get(key).cloned())
        };
        Box::pin(async move { Ok(result) })
    }

    fn add_promotion<'a>(&'a self, promotion: &'a Promotion) -> StoreFuture<'a, ()> {
        self.promotions.borrow_mut().insert(0, promotion.clone());
        Box::pin(async { Ok(()) })
    }

    fn promotions<'a>(
        &'a self,
        env: &'a str,
        service: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<Promotion>> {
        let list = self
            .promotions
            .borrow()
            .iter()
            .filter(|p| p.env == env && service.is_none_or(|s| p.service == s))
            .cloned()
            .collect();
        Box::pin(async move { Ok(list) })
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
