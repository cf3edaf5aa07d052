//! The shape every stage has ([`Stage`]) and the narrower one every gate has ([`Gate`]: a name,
//! a rule, what it observed, a verdict), the state a service's run carries from stage to stage
//! ([`RunState`], inside [`Cx`]), and what a stage returns ([`Next`]).

use crate::baseline::Baseline;
use crate::config::Service;
use crate::platform::{DeployOutcome, OutputLine, PlatformError};
use crate::printer::Printer;
use crate::probe::stats::LatencyStats;
use crate::report::{GateRecord, ServiceRecord, Verdict};

use super::deps::{Deps, Fut};
use super::plan::{PlanView, ServicePlan};

/// One step of the pipeline: what `plan` says it would do, and what it does.
pub(crate) trait Stage: Sync {
    /// The step's name in the log and the record: `preflight`, `health gate`...
    fn name(&self) -> &'static str;
    /// The line `shipit plan` prints for this step.
    fn plan(&self, view: &PlanView<'_>) -> String;
    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next>;
    /// Whether this stage changes the app (the deploy call): from its start on, a run that
    /// ends at once leaves the rollback command as its last line, not "nothing was changed".
    fn changes_the_app(&self) -> bool {
        false
    }
}

/// A gate: judges the new release and leaves one [`GateRecord`]. A failed gate rolls back.
pub(crate) trait Gate: Sync {
    fn name(&self) -> &'static str;
    fn plan(&self, view: &PlanView<'_>) -> String;
    /// `None` when the run's stop fired before there was anything to record.
    fn judge<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Option<Judged>>;
}

/// A gate's verdict: the record it leaves, and on failure the reason the rollback gives.
pub(crate) struct Judged {
    pub(crate) record: GateRecord,
    /// `health gate failed: 3 failures in a row: ...`; read only when the verdict is `Fail`.
    pub(crate) failure: String,
    /// The run's stop fired while the gate ran: the record says how far it got, and the run
    /// ends cancelled whatever the verdict.
    pub(crate) cancelled: bool,
}

impl Judged {
    /// A gate that had nothing to judge.
    pub(crate) fn skipped(name: &str, rule: &str, observed: &str) -> Judged {
        Judged {
            record: gate_record(name, rule, observed, Verdict::Skipped),
            failure: String::new(),
            cancelled: false,
        }
    }
}

impl<G: Gate> Stage for G {
    fn name(&self) -> &'static str {
        Gate::name(self)
    }
    fn plan(&self, view: &PlanView<'_>) -> String {
        Gate::plan(self, view)
    }
    fn run<'a>(&'a self, cx: &'a mut Cx<'_>) -> Fut<'a, Next> {
        Box::pin(async move {
            let Some(judged) = self.judge(cx).await else {
                return Next::Cancelled;
            };
            let failed = judged.record.verdict == Verdict::Fail;
            cx.st.record.gates.push(judged.record);
            if judged.cancelled {
                return Next::Cancelled;
            }
            if failed {
                cx.st.record.decision = Some(format!("roll back: {}", judged.failure));
                Next::Fail(judged.failure)
            } else {
                Next::Continue
            }
        })
    }
}

/// Where a stage leads.
pub(crate) enum Next {
    /// On to the next stage of the table (after the last one: done).
    Continue,
    /// Refused before any remote change.
    Refuse(String),
    /// Failed after the deploy call changed something: roll back.
    Fail(String),
    /// Failed, but the fleet never left the baseline: nothing to undo.
    FailUnchanged(String),
    Cancelled,
}

/// What a stage sees: the seams, the service's plan, and the run so far.
pub(crate) struct Cx<'a> {
    pub(crate) deps: &'a Deps<'a>,
    pub(crate) plan: &'a ServicePlan,
    pub(crate) st: RunState,
}

impl Cx<'_> {
    pub(crate) fn svc(&self) -> &Service {
        &self.plan.service
    }

    pub(crate) fn printer(&self) -> &Printer {
        self.deps.printer
    }

    /// Records a gate the stage judged itself (the fleet check).
    pub(crate) fn record_gate(&mut self, name: &str, rule: &str, observed: &str, verdict: Verdict) {
        self.st
            .record
            .gates
            .push(gate_record(name, rule, observed, verdict));
    }

    /// A warning on stderr that the record keeps too.
    pub(crate) fn warn(&mut self, text: String) {
        self.deps.printer.warn(&text);
        self.st.record.warnings.push(text);
    }
}

/// The state one service's run carries from stage to stage.
pub(crate) struct RunState {
    pub(crate) record: ServiceRecord,
    pub(crate) baseline: Option<Baseline>,
    pub(crate) baseline_stats: Option<LatencyStats>,
    pub(crate) new_image: Option<String>,
    pub(crate) new_version: Option<u64>,
    pub(crate) deploy: Option<DeployOutcome>,
    /// Set when the fleet watcher saw a new machine die during the deploy call.
    pub(crate) crashed: Option<String>,
    /// A canary deploy (`strategy: canary`) in progress: which machines run the new release.
    pub(crate) canary: Option<CanaryRun>,
}

/// Where a canary deploy stands: the machines that got the new release first, the others,
/// and whether the judgement passed (then the deploy stage updates the others).
#[derive(Debug, Clone)]
pub(crate) struct CanaryRun {
    pub(crate) machines: Vec<String>,
    /// Machines in the fleet when the canary was chosen.
    pub(crate) fleet: usize,
    /// When the canary call started (the clock's offset): the release's exposure begins.
    pub(crate) since: std::time::Duration,
    pub(crate) passed: bool,
}

impl CanaryRun {
    /// The machines that run the new release while the others do not: the canaries, until
    /// the judgement passed and the rest of the fleet was deployed.
    pub(crate) fn exposed(&self) -> Option<&[String]> {
        (!self.passed).then_some(self.machines.as_slice())
    }

    /// `1 of 3 machines (33 % of the fleet)`.
    pub(crate) fn share(&self) -> String {
        format!(
            "{} of {} machine{} ({:.0} % of the fleet)",
            self.machines.len(),
            self.fleet,
            if self.fleet == 1 { "" } else { "s" },
            self.machines.len() as f64 * 100.0 / self.fleet.max(1) as f64
        )
    }
}

impl RunState {
    pub(crate) fn new(svc: &Service) -> RunState {
        RunState {
            record: ServiceRecord::new(&svc.env, &svc.name, &svc.app, svc.url.shown()),
            baseline: None,
            baseline_stats: None,
            new_image: None,
            new_version: None,
            deploy: None,
            crashed: None,
            canary: None,
        }
    }

    /// The baseline's release version, 0 for a first deploy.
    pub(crate) fn base_version(&self) -> u64 {
        self.baseline.as_ref().and_then(|b| b.version).unwrap_or(0)
    }
}

pub(crate) fn gate_record(name: &str, rule: &str, observed: &str, verdict: Verdict) -> GateRecord {
    GateRecord {
        name: name.to_owned(),
        rule: rule.to_owned(),
        observed: observed.to_owned(),
        verdict,
        details: Vec::new(),
    }
}

/// A platform error before any remote change, with its hint.
pub(crate) fn refusal(e: &PlatformError) -> String {
    let hint = e.hint().map(|h| format!("\nhint: {h}")).unwrap_or_default();
    format!("preflight failed: {e}; this app was not changed{hint}")
}

/// Relays one line of flyctl's output, indented under the step; its blank spacer lines are
/// dropped, since in a timestamped CI log they are only noise.
pub(crate) fn relay(printer: &Printer, line: OutputLine<'_>) {
    let (OutputLine::Stdout(text) | OutputLine::Stderr(text)) = line;
    if !text.trim().is_empty() {
        printer.info(&format!("  {text}"));
    }
}

/// The health gate on the service's health URL, with the live progress line closed after it.
/// Used on the new release and, after a rollback, on the baseline.
pub(crate) async fn health_gate_report(deps: &Deps<'_>, svc: &Service) -> crate::probe::GateReport {
    let report = crate::probe::gate::run_gate(
        deps.prober,
        deps.clock,
        &svc.health,
        &svc.health_url(),
        deps.stop,
        deps.printer,
        &svc.label(),
    )
    .await;
    deps.printer.finish_progress();
    report
}

/// `regression.probes` probes back to back: the baseline's figures and the new release's.
pub(crate) async fn sample(deps: &Deps<'_>, svc: &Service) -> LatencyStats {
    let records = crate::probe::gate::sample(
        deps.prober,
        deps.clock,
        &svc.health,
        &svc.health_url(),
        svc.regression.probes,
        deps.stop,
    )
    .await;
    LatencyStats::from_records(&records)
}
