//! The deploy pipeline as a state machine:
//!
//! ```text
//! preflight -> baseline -> deploy -> fleet check -> health gate -> regression gate -> smoke -> watch -> done
//!                              \___________ any failure ___________/                     /
//!                                               -> rollback -> health gate (baseline image) -> exit 3 | 4
//! ```
//!
//! It does no I/O of its own: it is driven by a [`Platform`], a [`Prober`] and a [`Clock`], so
//! every path, rollback included, runs in unit tests without a network or flyctl. What it saw and
//! decided goes into a [`ServiceRecord`].

pub mod lock;
mod rollback;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::baseline::Baseline;
use crate::config::Service;
use crate::duration;
use crate::platform::{DeployOutcome, DeployRequest, ErrorKind, OutputLine, Platform};
use crate::printer::Printer;
use crate::probe::stats::LatencyStats;
use crate::probe::{Clock, Prober};
use crate::report::{GateRecord, ReleaseRef, ServiceRecord, ServiceResult, StepRecord, Verdict};
use crate::stop::Stop;

pub use rollback::{choose_rollback_target, rollback_service};

/// Publishes a GitHub step output (`key`, `value`); a no-op outside Actions.
pub type OutputFn<'a> = Box<dyn Fn(&str, &str) + 'a>;
/// Opens (`Some(title)`) or closes (`None`) a log group around flyctl's output.
pub type GroupFn<'a> = Box<dyn Fn(Option<&str>) + 'a>;

/// What the pipeline runs on.
pub struct Deps<'a, P, R, C> {
    pub platform: &'a P,
    pub prober: &'a R,
    pub clock: &'a C,
    pub printer: &'a Printer,
    /// Fires on SIGINT/SIGTERM.
    pub stop: &'a Stop,
    /// Where the rollback target is written before the deploy call.
    pub state_dir: &'a Path,
    /// How often the fleet is looked at while flyctl deploys (the crashed-machine fast path).
    pub fleet_poll: Duration,
    /// Called with (key, value) for GitHub step outputs; a no-op outside Actions.
    pub output: OutputFn<'a>,
    /// Wraps flyctl's streamed output in a log group under Actions.
    pub group: GroupFn<'a>,
}

/// What `shipit deploy` asked for, for one service.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    pub image: Option<String>,
    pub strategy: Option<String>,
    pub rollback: bool,
}

/// The pipeline's stages, in order; a failure anywhere after the deploy call leads to Rollback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Preflight,
    Baseline,
    Deploy,
    FleetCheck,
    HealthGate,
    RegressionGate,
    Smoke,
    Watch,
    Done,
    Rollback,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Preflight => "preflight",
            Stage::Baseline => "baseline",
            Stage::Deploy => "deploy",
            Stage::FleetCheck => "fleet check",
            Stage::HealthGate => "health gate",
            Stage::RegressionGate => "regression gate",
            Stage::Smoke => "smoke",
            Stage::Watch => "watch",
            Stage::Done => "done",
            Stage::Rollback => "rollback",
        }
    }
}

/// Where a stage leads.
enum Next {
    To(Stage),
    /// Refused before any remote change.
    Refuse(String),
    /// Failed after the deploy call changed something: roll back.
    Fail(String),
    /// Failed, but the fleet never left the baseline: nothing to undo.
    FailUnchanged(String),
    Cancelled,
}

/// The state one service's run carries from stage to stage.
struct RunState {
    record: ServiceRecord,
    baseline: Option<Baseline>,
    baseline_stats: Option<LatencyStats>,
    new_image: Option<String>,
    new_version: Option<u64>,
    deploy: Option<DeployOutcome>,
    /// Set when the fleet watcher saw a new machine die during the deploy call.
    crashed: Option<String>,
}

/// Deploys one service through every gate; rolls back on failure when allowed.
pub async fn deploy_service<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    opts: &DeployOptions,
) -> ServiceRecord {
    let mut st = RunState {
        record: ServiceRecord::new(&svc.env, &svc.name, &svc.app, svc.url.shown()),
        baseline: None,
        baseline_stats: None,
        new_image: None,
        new_version: None,
        deploy: None,
        crashed: None,
    };
    let mut stage = Stage::Preflight;
    loop {
        if deps.stop.is_stopped() && stage != Stage::Done {
            return cancelled(deps, svc, st).await;
        }
        deps.printer
            .step(&format!("{}: {}", svc.label(), stage.name()));
        let started = Instant::now();
        let started_at = crate::timefmt::now();
        let next = match stage {
            Stage::Preflight => preflight(deps, svc, &mut st).await,
            Stage::Baseline => baseline(deps, svc, &mut st).await,
            Stage::Deploy => deploy(deps, svc, opts, &mut st).await,
            Stage::FleetCheck => fleet_check(deps, svc, &mut st).await,
            Stage::HealthGate => health_gate(deps, svc, &mut st).await,
            Stage::RegressionGate => regression_gate(deps, svc, &mut st).await,
            Stage::Smoke => smoke(deps, svc, &mut st).await,
            Stage::Watch => watch(deps, svc, &mut st).await,
            Stage::Done | Stage::Rollback => unreachable!("terminal stages are handled below"),
        };
        let (ok, detail) = match &next {
            Next::To(_) => (true, String::new()),
            Next::Refuse(r) | Next::Fail(r) | Next::FailUnchanged(r) => (false, r.clone()),
            Next::Cancelled => (false, "cancelled".to_owned()),
        };
        st.record.steps.push(StepRecord {
            name: stage.name().to_owned(),
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            ok,
            detail,
        });
        match next {
            Next::To(Stage::Done) => {
                st.record.result = ServiceResult::Succeeded;
                st.record.live = st.record.to.clone();
                st.record
                    .actions
                    .push(format!("deployed {}", release_text(st.record.to.as_ref())));
                deps.printer.success(&format!(
                    "{}: {} is live and passed every gate",
                    svc.label(),
                    release_text(st.record.to.as_ref())
                ));
                return st.record;
            }
            Next::To(s) => stage = s,
            Next::Refuse(reason) => {
                deps.printer.error(&format!("{}: {reason}", svc.label()));
                st.record.result = ServiceResult::FailedBeforeChange;
                st.record.reason = Some(reason.clone());
                st.record.issues.push(reason);
                st.record.live = st.record.from.clone();
                return st.record;
            }
            Next::FailUnchanged(reason) => {
                deps.printer.error(&format!("{}: {reason}", svc.label()));
                st.record.result = ServiceResult::FailedBeforeChange;
                st.record.decision = Some(
                    "no rollback needed: every machine still runs the previous release".into(),
                );
                st.record.reason = Some(reason.clone());
                st.record.issues.push(reason);
                st.record.live = st.record.from.clone();
                return st.record;
            }
            Next::Fail(reason) => {
                deps.printer.error(&format!("{}: {reason}", svc.label()));
                st.record.issues.push(reason.clone());
                st.record.reason = Some(reason.clone());
                return rollback::after_failure(
                    deps,
                    svc,
                    opts,
                    st.record,
                    st.baseline.as_ref(),
                    &reason,
                )
                .await;
            }
            Next::Cancelled => return cancelled(deps, svc, st).await,
        }
    }
}

fn release_text(r: Option<&ReleaseRef>) -> String {
    match r {
        Some(ReleaseRef {
            version: Some(v),
            image,
        }) => format!("v{v} ({image})"),
        Some(ReleaseRef {
            version: None,
            image,
        }) => image.clone(),
        None => "nothing".into(),
    }
}

async fn preflight<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    st: &mut RunState,
) -> Next {
    let p = deps.platform;
    if !p.has_token() {
        return Next::Refuse(format!(
            "no Fly API token: set FLY_API_TOKEN (or FLY_ACCESS_TOKEN) for {}; nothing was changed",
            p.name()
        ));
    }
    let releases = match p.releases(&svc.app).await {
        Ok(r) => r,
        Err(e) => return Next::Refuse(refusal(&e)),
    };
    if let Some(r) = releases.iter().find(|r| r.is_in_progress()) {
        return Next::Refuse(format!(
            "release v{} of {} is still in progress (status `{}`): another deploy is running; nothing was changed",
            r.version, svc.app, r.status
        ));
    }
    let status = match p.status(&svc.app).await {
        Ok(s) => s,
        Err(e) => return Next::Refuse(refusal(&e)),
    };
    let baseline = Baseline::from_status(&status, &releases);
    if baseline.image.is_none() {
        deps.printer.warn(&format!(
            "{}: first deploy: no machine runs a release yet, so there is nothing to roll back to",
            svc.label()
        ));
        st.record
            .warnings
            .push("first deploy: no rollback target".into());
    }
    st.baseline = Some(baseline);
    Next::To(Stage::Baseline)
}

fn refusal(e: &crate::platform::PlatformError) -> String {
    let hint = e.hint().map(|h| format!("\nhint: {h}")).unwrap_or_default();
    format!("preflight failed: {e}; nothing was changed{hint}")
}

async fn baseline<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    st: &mut RunState,
) -> Next {
    let Some(mut base) = st.baseline.take() else {
        return Next::Refuse("no baseline".into());
    };
    base.env = svc.env.clone();
    base.service = svc.name.clone();
    if let Some(image) = base.image.clone() {
        st.record.from = Some(ReleaseRef {
            version: base.version,
            image: image.clone(),
        });
        let stats = sample(deps, svc).await;
        if stats.error_rate > 0.0 {
            deps.printer.warn(&format!(
                "{}: the live release already fails {} of {} probes",
                svc.label(),
                stats.failures,
                stats.count
            ));
        }
        base.figures = Some(stats.clone());
        st.baseline_stats = Some(stats);
        (deps.output)(
            "previous_version",
            &base.version.map(|v| v.to_string()).unwrap_or_default(),
        );
        (deps.output)("previous_image", &image);
    }
    // The rollback target is on disk before the first remote change.
    match base.write(deps.state_dir) {
        Ok(path) => {
            deps.printer.info(&format!(
                "rollback target: {} (written to {})",
                release_text(st.record.from.as_ref()),
                path.display()
            ));
            st.record.actions.push(format!(
                "recorded the rollback target in {}",
                path.display()
            ));
        }
        Err(e) => {
            return Next::Refuse(format!(
                "cannot write the rollback target: {e:#}; nothing was changed"
            ));
        }
    }
    st.baseline = Some(base);
    Next::To(Stage::Deploy)
}

/// The deploy request for a service, as `plan` shows it and `deploy` runs it.
pub fn deploy_request(svc: &Service, image: Option<&str>, strategy: Option<&str>) -> DeployRequest {
    DeployRequest {
        app: svc.app.clone(),
        fly_config: svc.fly_config.clone(),
        image: image.map(str::to_owned).or_else(|| svc.image.clone()),
        strategy: strategy.map(str::to_owned).or_else(|| svc.strategy.clone()),
        wait_timeout: svc.wait_timeout,
        skip_release_command: false,
        timeout: svc.deploy_timeout,
        machines: crate::platform::MachineFilter::default(),
    }
}

async fn deploy<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    opts: &DeployOptions,
    st: &mut RunState,
) -> Next {
    let req = deploy_request(svc, opts.image.as_deref(), opts.strategy.as_deref());
    let base_version = st.baseline.as_ref().and_then(|b| b.version).unwrap_or(0);
    let call_stop = deps.stop.child();
    let printer = deps.printer;
    let mut on_line = |line: OutputLine<'_>| relay(printer, line);
    (deps.group)(Some(&format!("flyctl deploy {}", svc.app)));
    let watcher = watch_fleet(deps, svc, base_version, &call_stop);
    let call = async {
        let outcome = deps.platform.deploy(&req, &mut on_line, &call_stop).await;
        // Ends the fleet watcher; this stop is the call's own, not the run's.
        call_stop.trigger("the deploy call finished");
        outcome
    };
    let (outcome, crashed) = tokio::join!(call, watcher);
    (deps.group)(None);
    st.record.flyctl.push(outcome.argv.clone());
    st.record
        .actions
        .push(format!("ran `{}`", outcome.argv.join(" ")));
    st.crashed = crashed;
    if deps.stop.is_stopped() {
        st.deploy = Some(outcome);
        return Next::Cancelled;
    }
    st.new_image = outcome
        .release
        .as_ref()
        .map(|r| r.image_ref.clone())
        .or_else(|| req.image.clone());
    st.new_version = outcome.release.as_ref().map(|r| r.version);
    if let Some(e) = &outcome.error
        && !outcome.stopped
    {
        let warn = format!("flyctl: {e}");
        deps.printer.warn(&warn);
        st.record.warnings.push(warn);
    }
    let failed_early = outcome.error.as_ref().is_some_and(|e| {
        matches!(
            e.kind,
            ErrorKind::NotAuthenticated | ErrorKind::AppNotFound | ErrorKind::NotInstalled
        )
    });
    st.deploy = Some(outcome);
    if failed_early {
        let e = st
            .deploy
            .as_ref()
            .and_then(|o| o.error.clone())
            .expect("checked above");
        return Next::Refuse(refusal(&e));
    }
    Next::To(Stage::FleetCheck)
}

/// While flyctl deploys, looks at the fleet every `fleet_poll`. A machine on the new release
/// that has stopped means the release crashed: flyctl would still wait out its whole
/// `--wait-timeout` (superfly/flyctl#2653), so the call is stopped and the pipeline moves on.
async fn watch_fleet<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    base_version: u64,
    call_stop: &Stop,
) -> Option<String> {
    // Machines already confirmed alive: an autostopped machine that woke up for its probe.
    let mut woke: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            () = call_stop.stopped() => return None,
            () = deps.clock.sleep(deps.fleet_poll) => {}
        }
        let Ok(status) = deps.platform.status(&svc.app).await else {
            continue;
        };
        let down: Vec<&crate::platform::Machine> = status
            .machines
            .iter()
            .filter(|m| {
                m.release_version.is_some_and(|v| v > base_version)
                    && m.is_down()
                    && !woke.contains(&m.id)
            })
            .collect();
        for m in down {
            // Fly's autostop also stops idle machines. A probe pinned to the machine tells the two
            // apart: the proxy wakes an autostopped machine and it answers; a crashed one does not.
            let mut probe = crate::probe::ProbeSpec::health(&svc.health, &svc.health_url());
            probe.machine_id = Some(m.id.clone());
            let result = deps.prober.probe(&probe).await;
            if svc.health.expect.iter().all(|c| c.evaluate(&result).pass) {
                deps.printer.debug(&format!(
                    "machine {} was {} and woke for a probe: not a crash",
                    m.id, m.state
                ));
                woke.push(m.id.clone());
                continue;
            }
            let reason = format!(
                "machine {} ({}) on the new release is {} and does not answer ({})",
                m.id,
                m.region,
                m.state,
                result.summary()
            );
            deps.printer
                .warn(&format!("{reason}: not waiting for flyctl's wait-timeout"));
            call_stop.trigger(&reason);
            return Some(reason);
        }
    }
}

async fn fleet_check<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    st: &mut RunState,
) -> Next {
    let outcome = st.deploy.as_ref().expect("deploy ran");
    let base_image = st.baseline.as_ref().and_then(|b| b.image.clone());
    let status = match deps.platform.status(&svc.app).await {
        Ok(s) => s,
        Err(e) => return Next::Fail(format!("cannot see the fleet after the deploy: {e}")),
    };
    let started: Vec<_> = status.machines.iter().filter(|m| m.is_started()).collect();
    // The new image: what flyctl reported, else what machines on a newer release run.
    if st.new_image.is_none() {
        st.new_image = status
            .machines
            .iter()
            .filter(|m| {
                m.release_version.unwrap_or(0)
                    > st.baseline.as_ref().and_then(|b| b.version).unwrap_or(0)
            })
            .map(|m| m.image.clone())
            .next();
    }
    if st.new_version.is_none() {
        st.new_version = status
            .machines
            .iter()
            .filter_map(|m| m.release_version)
            .max()
            .filter(|v| Some(*v) > st.baseline.as_ref().and_then(|b| b.version));
    }
    let new_image = st.new_image.clone();
    st.record.to = new_image.as_ref().map(|i| ReleaseRef {
        version: st.new_version,
        image: i.clone(),
    });
    if let Some(i) = &new_image {
        (deps.output)("image", i);
        (deps.output)(
            "version",
            &st.new_version.map(|v| v.to_string()).unwrap_or_default(),
        );
    }
    // On the new release: runs the new image and, when the image did not change (a config-only
    // deploy of the running image), carries a newer release version than the baseline.
    let base_version = st.baseline.as_ref().and_then(|b| b.version).unwrap_or(0);
    let image_changed = new_image != base_image;
    let on_new = |m: &&crate::platform::Machine| {
        new_image.as_deref().is_some_and(|i| m.image == i)
            && (image_changed || m.release_version.is_some_and(|v| v > base_version))
    };
    let updated = status.machines.iter().filter(on_new).count();
    let total = status.machines.len();
    let flyctl_failed = !outcome.succeeded();
    let reason_flyctl = outcome
        .error
        .as_ref()
        .map_or_else(|| "flyctl failed".to_owned(), ToString::to_string);
    if let Some(crash) = st.crashed.clone() {
        record_gate(
            st,
            "fleet",
            "every started machine runs the new image and stays up",
            &crash,
            Verdict::Fail,
        );
        return Next::Fail(format!("the new release crashed: {crash}"));
    }
    if updated == 0 && flyctl_failed {
        record_gate(
            st,
            "fleet",
            "every started machine runs the new image",
            &format!("0 of {total} machines updated"),
            Verdict::Fail,
        );
        return Next::FailUnchanged(format!(
            "the deploy failed before any machine was updated: {reason_flyctl}"
        ));
    }
    // Started machines are the fleet that serves; when Fly's autostop has stopped them all, the
    // whole fleet is what must carry the new release (the outside probe wakes it).
    let judged: Vec<&crate::platform::Machine> = if started.is_empty() {
        status.machines.iter().collect()
    } else {
        started.clone()
    };
    let all_started_new = !judged.is_empty() && judged.iter().all(on_new);
    let checks_ok = started.iter().all(|m| m.checks_passing());
    let observed = format!(
        "{updated} of {total} machines on the new image, {} started, Fly checks {}",
        started.len(),
        if checks_ok { "passing" } else { "failing" }
    );
    if !all_started_new {
        record_gate(
            st,
            "fleet",
            "every started machine runs the new image",
            &observed,
            Verdict::Fail,
        );
        let why = if flyctl_failed {
            format!("{reason_flyctl}; ")
        } else {
            String::new()
        };
        return Next::Fail(format!("{why}the fleet is half-updated: {observed}"));
    }
    if checks_ok {
        record_gate(
            st,
            "fleet",
            "every started machine runs the new image; Fly checks passing",
            &observed,
            Verdict::Pass,
        );
    } else {
        // Fly's own checks can lag; the outside probe is the verdict, so this is a warning.
        let w = format!("Fly checks are not all passing yet: {observed}");
        deps.printer.warn(&w);
        st.record.warnings.push(w);
        record_gate(
            st,
            "fleet",
            "every started machine runs the new image; Fly checks passing",
            &observed,
            Verdict::Warn,
        );
    }
    if flyctl_failed {
        st.record.decision = Some(format!(
            "go on: flyctl reported failure but the fleet is updated ({reason_flyctl}); the outside probes decide"
        ));
    }
    Next::To(Stage::HealthGate)
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
pub(crate) async fn health_gate_report<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
) -> crate::probe::GateReport {
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
async fn sample<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
) -> LatencyStats {
    let records = crate::probe::gate::sample(
        deps.prober,
        &svc.health,
        &svc.health_url(),
        svc.regression.probes,
        deps.stop,
    )
    .await;
    LatencyStats::from_records(&records)
}

fn record_gate(st: &mut RunState, name: &str, rule: &str, observed: &str, verdict: Verdict) {
    st.record.gates.push(GateRecord {
        name: name.to_owned(),
        rule: rule.to_owned(),
        observed: observed.to_owned(),
        verdict,
        details: Vec::new(),
    });
}

async fn health_gate<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    st: &mut RunState,
) -> Next {
    let report = health_gate_report(deps, svc).await;
    st.record
        .gates
        .push(report.gate_record("health", &svc.health));
    if report.cancelled {
        return Next::Cancelled;
    }
    if report.opened {
        if st.record.decision.is_some() {
            let d = "go on: the app is healthy from outside although flyctl reported failure"
                .to_owned();
            st.record.warnings.push(d.clone());
            st.record.decision = Some(d);
        }
        Next::To(Stage::RegressionGate)
    } else {
        st.record.decision = Some(format!("roll back: health gate failed: {}", report.reason));
        Next::Fail(format!("health gate failed: {}", report.reason))
    }
}

async fn regression_gate<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    st: &mut RunState,
) -> Next {
    let Some(base) = &st.baseline_stats else {
        record_gate(
            st,
            "regression",
            "compare with the baseline",
            "no baseline (first deploy)",
            Verdict::Skipped,
        );
        return Next::To(Stage::Smoke);
    };
    let base = base.clone();
    let current = sample(deps, svc).await;
    if deps.stop.is_stopped() {
        return Next::Cancelled;
    }
    let gate = crate::probe::regression::evaluate(&base, &current, &svc.regression);
    let failed = gate.verdict == Verdict::Fail;
    let observed = gate.observed.clone();
    st.record.gates.push(gate);
    if failed {
        st.record.decision = Some(format!("roll back: regression gate failed: {observed}"));
        Next::Fail(format!("regression gate failed: {observed}"))
    } else {
        Next::To(Stage::Smoke)
    }
}

async fn smoke<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    st: &mut RunState,
) -> Next {
    let Some(path) = &svc.smoke else {
        record_gate(
            st,
            "smoke",
            "smoke suite passes",
            "no smoke suite configured",
            Verdict::Skipped,
        );
        return Next::To(Stage::Watch);
    };
    let suite = match crate::smoke::load(path) {
        Ok(s) => s,
        Err(e) => return Next::Fail(format!("smoke suite cannot be loaded: {e}")),
    };
    let report = crate::smoke::run(
        deps.prober,
        svc.url.as_str(),
        &suite,
        deps.stop,
        deps.printer,
    )
    .await;
    if deps.stop.is_stopped() {
        return Next::Cancelled;
    }
    let gate = report.gate_record();
    st.record.gates.push(gate);
    if report.passed() {
        Next::To(Stage::Watch)
    } else {
        let observed = st
            .record
            .gates
            .last()
            .map(|g| g.observed.clone())
            .unwrap_or_default();
        st.record.decision = Some(format!("roll back: smoke failed: {observed}"));
        Next::Fail(format!("smoke failed: {observed}"))
    }
}

/// The optional window after success: probes every `interval` for `watch`; `unhealthy_after`
/// failures in a row still roll back.
async fn watch<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    st: &mut RunState,
) -> Next {
    if svc.watch.is_zero() {
        return Next::To(Stage::Done);
    }
    let url = svc.health_url();
    let spec = crate::probe::ProbeSpec {
        url: url.clone(),
        method: "GET".into(),
        headers: svc
            .health
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
            .collect(),
        body: None,
        timeout: svc.health.timeout,
        machine_id: None,
    };
    let start = deps.clock.now();
    let (mut probes, mut failures_in_row, mut failures) = (0u32, 0u32, 0u32);
    let rule = format!(
        "healthy for {}: fewer than {} failures in a row, probing every {}",
        duration::format(svc.watch),
        svc.health.unhealthy_after,
        duration::format(svc.health.interval)
    );
    while deps.clock.now().saturating_sub(start) < svc.watch {
        let result = deps.prober.probe(&spec).await;
        probes += 1;
        let failed: Vec<String> = svc
            .health
            .expect
            .iter()
            .filter_map(|c| {
                let o = c.evaluate(&result);
                (!o.pass).then_some(o.display)
            })
            .collect();
        if failed.is_empty() {
            failures_in_row = 0;
        } else {
            failures_in_row += 1;
            failures += 1;
            deps.printer.warn(&format!(
                "{} watch probe {probes}: {}",
                svc.label(),
                failed.join(", ")
            ));
        }
        if failures_in_row >= svc.health.unhealthy_after {
            let observed = format!(
                "{failures_in_row} failures in a row after {probes} probes: {}",
                failed.join(", ")
            );
            record_gate(st, "watch", &rule, &observed, Verdict::Fail);
            st.record.decision = Some(format!(
                "roll back: failed during the watch window: {observed}"
            ));
            return Next::Fail(format!("failed during the watch window: {observed}"));
        }
        tokio::select! {
            () = deps.stop.stopped() => return Next::Cancelled,
            () = deps.clock.sleep(svc.health.interval) => {}
        }
    }
    record_gate(
        st,
        "watch",
        &rule,
        &format!("{probes} probes, {failures} failed"),
        Verdict::Pass,
    );
    Next::To(Stage::Done)
}

/// Cancelled by SIGINT/SIGTERM: record it, say what is live and how to go back.
async fn cancelled<P: Platform, R: Prober, C: Clock>(
    deps: &Deps<'_, P, R, C>,
    svc: &Service,
    mut st: RunState,
) -> ServiceRecord {
    st.record.result = ServiceResult::Cancelled;
    let reason = deps.stop.reason().unwrap_or_else(|| "cancelled".into());
    st.record.reason = Some(reason.clone());
    st.record.issues.push(reason);
    // A short look at what runs now; GitHub kills the step 10 s after its first signal.
    let live = tokio::time::timeout(Duration::from_secs(2), deps.platform.status(&svc.app)).await;
    if let Ok(Ok(status)) = live {
        let images: Vec<String> = status
            .machines
            .iter()
            .filter(|m| m.is_started())
            .map(|m| m.image.clone())
            .collect();
        if let Some(first) = images.first() {
            let version = status
                .machines
                .iter()
                .find(|m| &m.image == first)
                .and_then(|m| m.release_version);
            st.record.live = Some(ReleaseRef {
                version,
                image: first.clone(),
            });
            let mixed = images.iter().any(|i| i != first);
            deps.printer.warn(&format!(
                "{}: cancelled; live now: {}{}",
                svc.label(),
                release_text(st.record.live.as_ref()),
                if mixed {
                    " (mixed: some machines run another image)"
                } else {
                    ""
                }
            ));
        }
    }
    if let Some(from) = &st.record.from {
        let to = from
            .version
            .map(|v| format!(" --to {v}"))
            .unwrap_or_default();
        let cmd = format!("shipit rollback {}{to}", svc.app);
        deps.printer.hint(&format!(
            "to put {} back, run: {cmd}",
            release_text(Some(from))
        ));
        st.record
            .actions
            .push(format!("cancelled; suggested `{cmd}`"));
    }
    st.record
}

#[cfg(test)]
mod tests;
