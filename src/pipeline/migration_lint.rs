//! The migration lint, before any remote change: with `gates: { database: true }` and
//! `database.migrations`, squawk reads the new migration files and a finding refuses the deploy
//! (nothing is changed, exit 1). Without squawk it is a warning, never a refusal.

use super::deps::Fut;
use super::plan::PlanView;
use super::stage::{Cx, Next, Stage};
use crate::db::migrations::Outcome as Lint;

pub(super) struct MigrationLint;

impl Stage for MigrationLint {
    fn name(&self) -> &'static str {
        "migration lint"
    }

    fn plan(&self, view: &PlanView<'_>) -> String {
        match view.plan.database.as_ref().map(|d| d.migrations.as_ref()) {
            None => "migration lint: off (gates.database is off or the environment has no database:)".into(),
            Some(None) => "migration lint: none (no database.migrations)".into(),
            Some(Some(dir)) => format!(
                "migration lint: squawk over the new files of {} before the deploy call; a finding refuses the deploy (without squawk: a warning)",
                dir.display()
            ),
        }
    }

    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(async move {
            let Some(db) = &cx.plan.database else {
                return Next::Continue;
            };
            if db.migrations.is_none() {
                return Next::Continue;
            }
            let deps = cx.deps;
            let env = cx.svc().env.clone();
            match deps.database.lint_migrations(db, &env, deps.stop).await {
                _ if deps.stop.is_stopped() => Next::Cancelled,
                Err(e) => Next::Refuse(format!("the migration lint could not run: {e:#}")),
                Ok(Lint::NoSquawk { notice }) => {
                    cx.warn(notice);
                    Next::Continue
                }
                Ok(Lint::NotConfigured | Lint::NothingNew) => Next::Continue,
                Ok(Lint::Clean { files, notice }) => {
                    if let Some(n) = notice {
                        deps.printer.info(&n);
                    }
                    deps.printer
                        .info(&format!("migration lint: {} clean", files.join(", ")));
                    Next::Continue
                }
                Ok(Lint::Dangerous { files, findings }) => {
                    for f in &findings {
                        let line = f.line_text();
                        deps.printer.error(&line);
                        cx.st.record.issues.push(line);
                    }
                    Next::Refuse(format!(
                        "the migration lint found {} dangerous statement(s) in {}: {}",
                        findings.len(),
                        files.join(", "),
                        findings
                            .first()
                            .map(crate::db::migrations::SquawkFinding::line_text)
                            .unwrap_or_default()
                    ))
                }
            }
        })
    }
}
