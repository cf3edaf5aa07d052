//! The database gate, after the deploy (the release command migrates): `db verify` on the
//! environment's database. A failure rolls the app back, and says plainly that the schema was
//! not: a migration is not undone by putting the previous image back.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Gate, Judged, gate_record};
use crate::report::Verdict;

pub(super) struct DatabaseGate;

/// The sentence every failed database gate ends with.
pub(crate) const SCHEMA_NOT_ROLLED_BACK: &str = "the database schema was NOT rolled back: the migration stays applied and the previous release runs against it";

impl Gate for DatabaseGate {
    fn name(&self) -> &'static str {
        "database gate"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        match &view.plan.database {
            None => "database gate: off (gates.database is off or the environment has no database:)".into(),
            Some(db) => format!(
                "database gate: db verify (read-only transaction, statement timeout {}); {} lints, fail on {}",
                crate::duration::format(db.statement_timeout),
                db.lints.enabled.len(),
                db.lints.fail_on.name()
            ),
        }
    }

    fn judge<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Option<Judged>> {
        Box::pin(async move {
            let deps = cx.deps;
            let Some(db) = &cx.plan.database else {
                return Some(Judged::skipped(
                    "database",
                    "db verify passes",
                    "gates.database is off or the environment has no database:",
                ));
            };
            let what = format!("the {} database", cx.svc().env);
            let result = tokio::select! {
                biased;
                () = deps.stop.stopped() => return None,
                r = deps.database.verify(db, &what) => r,
            };
            Some(match result {
                Err(e) => {
                    let observed = format!("cannot verify: {e:#}");
                    Judged {
                        record: gate_record("database", "db verify passes", &observed, Verdict::Fail),
                        failure: format!("database gate failed: {observed}; {SCHEMA_NOT_ROLLED_BACK}"),
                        cancelled: false,
                    }
                }
                Ok(v) => {
                    let failing: Vec<String> = v.failing().map(crate::db::Finding::line).collect();
                    for f in &v.findings {
                        deps.printer.info(&f.line());
                    }
                    Judged {
                        record: v.gate_record(),
                        failure: format!(
                            "database gate failed: {} ({}); {SCHEMA_NOT_ROLLED_BACK}",
                            v.counts(),
                            failing.join("; ")
                        ),
                        cancelled: false,
                    }
                }
            })
        })
    }
}
