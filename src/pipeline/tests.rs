//! The state machine's transitions, walked with a fake platform, a fake prober that answers by
//! the image the fake fleet runs, and a clock that jumps instead of waiting: no network, no
//! flyctl, no sleeping.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use super::{Deps, ServicePlan, StateDir, deploy_service};
use crate::config::Service;
use crate::platform::{
    AppStatus, Check, DeployOutcome, DeployRequest, ErrorKind, LogEntry, Machine, OutputLine,
    Platform, PlatformError, Release, ReleaseLine, SecretInfo,
};
use crate::printer::Printer;
use crate::probe::{Clock, ProbeResult, ProbeSpec, Prober};
use crate::report::{ServiceRecord, ServiceResult};
use crate::stop::Stop;

const OLD: &str = "registry.fly.io/app:old";
const NEW: &str = "registry.fly.io/app:new";

/// What one deploy call does to the fake fleet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Script {
    /// Every machine moves to the image; exit 0.
    Ok,
    /// The first machine moves, then flyctl fails (rolling leaves a half-updated fleet).
    FailHalf,
    /// Every machine moves and is healthy, but flyctl exits 1 (API rate limit).
    FailButHealthy,
    /// flyctl fails before touching a machine (release command).
    FailUntouched,
    /// The first machine moves and stops; flyctl would wait until stopped.
    Crash,
    /// flyctl cannot find the app.
    AppMissing,
}

#[derive(Default)]
struct World {
    machines: Vec<Machine>,
    releases: Vec<Release>,
    scripts: Vec<Script>,
    deploys: Vec<DeployRequest>,
    /// Whether the rollback target file existed when each deploy call started.
    target_on_disk: Vec<bool>,
    /// Machines go back to `stopped` after a deploy, as Fly's autostop does to idle machines.
    autostop: bool,
}

#[derive(Clone)]
struct FakePlatform {
    world: Rc<RefCell<World>>,
    token: bool,
    in_progress: bool,
    state_dir: std::path::PathBuf,
}

fn machine(id: &str, image: &str, version: u64) -> Machine {
    Machine {
        id: id.into(),
        name: id.into(),
        state: "started".into(),
        region: "iad".into(),
        image: image.into(),
        release_version: Some(version),
        process_group: Some("app".into()),
        host_status: "ok".into(),
        checks: vec![Check {
            name: "servicecheck-00-http-3000".into(),
            status: "passing".into(),
            output: String::new(),
        }],
        events: Vec::new(),
    }
}

fn release(version: u64, status: &str, image: &str) -> Release {
    Release::for_test(version, status, image)
}

impl FakePlatform {
    fn new(state_dir: &Path, live: Option<&str>, scripts: &[Script]) -> FakePlatform {
        let mut world = World {
            scripts: scripts.to_vec(),
            ..World::default()
        };
        if let Some(image) = live {
            world.machines = vec![machine("m1", image, 5), machine("m2", image, 5)];
            world.releases = vec![
                release(5, "complete", image),
                release(4, "complete", "registry.fly.io/app:older"),
            ];
        } else {
            let mut m = machine("m1", "", 0);
            m.release_version = None;
            m.state = "created".into();
            world.machines = vec![m];
        }
        FakePlatform {
            world: Rc::new(RefCell::new(world)),
            token: true,
            in_progress: false,
            state_dir: state_dir.to_owned(),
        }
    }

    fn live_images(&self) -> Vec<String> {
        self.world
            .borrow()
            .machines
            .iter()
            .map(|m| m.image.clone())
            .collect()
    }

    fn deploy_images(&self) -> Vec<Option<String>> {
        self.world
            .borrow()
            .deploys
            .iter()
            .map(|d| d.image.clone())
            .collect()
    }
}

impl Platform for FakePlatform {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn has_token(&self) -> bool {
        self.token
    }
    async fn status(&self, app: &str) -> Result<AppStatus, PlatformError> {
        let w = self.world.borrow();
        Ok(AppStatus {
            app: app.into(),
            version: w.releases.iter().map(|r| r.version).max().unwrap_or(0),
            status: "deployed".into(),
            hostname: String::new(),
            machines: w.machines.clone(),
        })
    }
    async fn releases(&self, _app: &str) -> Result<Vec<Release>, PlatformError> {
        let mut r = self.world.borrow().releases.clone();
        if self.in_progress {
            let mut running = release(6, "running", NEW);
            running.in_progress = true;
            r.insert(0, running);
        }
        Ok(r)
    }
    async fn secrets(&self, _app: &str) -> Result<Vec<SecretInfo>, PlatformError> {
        Ok(Vec::new())
    }
    async fn logs(&self, _app: &str, _wait: Duration) -> Result<Vec<LogEntry>, PlatformError> {
        Ok(Vec::new())
    }
    fn deploy_argv(&self, req: &DeployRequest) -> Vec<String> {
        vec![
            "flyctl".into(),
            "deploy".into(),
            "--app".into(),
            req.app.clone(),
            "--image".into(),
            req.image.clone().unwrap_or_default(),
        ]
    }
    async fn deploy(
        &self,
        req: &DeployRequest,
        on_line: &mut dyn FnMut(OutputLine<'_>),
        stop: &Stop,
    ) -> DeployOutcome {
        on_line(OutputLine::Stdout("==> Verifying app config"));
        let on_disk = crate::baseline::Baseline::path(&self.state_dir, &req.app).is_file();
        let script = {
            let mut w = self.world.borrow_mut();
            w.deploys.push(req.clone());
            w.target_on_disk.push(on_disk);
            if w.scripts.is_empty() {
                Script::Ok
            } else {
                w.scripts.remove(0)
            }
        };
        let image = req.image.clone().unwrap_or_else(|| NEW.into());
        let version = self
            .world
            .borrow()
            .releases
            .iter()
            .map(|r| r.version)
            .max()
            .unwrap_or(0)
            + 1;
        let fail = |kind: ErrorKind, message: &str| PlatformError {
            kind,
            command: "flyctl deploy".into(),
            message: message.into(),
        };
        let mut out = DeployOutcome {
            argv: self.deploy_argv(req),
            exit_code: Some(0),
            release: None,
            error: None,
            timed_out: false,
            stopped: false,
            elapsed: Duration::ZERO,
        };
        {
            let mut w = self.world.borrow_mut();
            let n = w.machines.len();
            let autostop = w.autostop;
            let moved = match script {
                Script::Ok | Script::FailButHealthy => n,
                Script::FailHalf | Script::Crash => 1,
                Script::FailUntouched | Script::AppMissing => 0,
            };
            // flyctl's machine filters (`--only-machines`, `--exclude-machines`): the others
            // keep their image and release.
            let chosen = |m: &Machine| {
                (req.machines.only.is_empty() || req.machines.only.contains(&m.id))
                    && !req.machines.exclude.contains(&m.id)
            };
            for m in w.machines.iter_mut().filter(|m| chosen(m)).take(moved) {
                m.image.clone_from(&image);
                m.release_version = Some(version);
                m.state = if script == Script::Crash || autostop {
                    "stopped".into()
                } else {
                    "started".into()
                };
            }
            let status = if matches!(script, Script::Ok) {
                "complete"
            } else {
                "failed"
            };
            w.releases.insert(0, release(version, status, &image));
        }
        if self.world.borrow().autostop {
            // A deploy that takes a while: the fleet watcher looks at the stopped machines.
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
        }
        match script {
            Script::Ok => {
                out.release = Some(ReleaseLine {
                    id: "rel".into(),
                    version,
                    image_ref: image,
                });
            }
            Script::Crash => {
                // flyctl would wait out its wait-timeout; the pipeline's fleet watcher stops it.
                stop.stopped().await;
                out.stopped = true;
                out.exit_code = Some(127);
            }
            Script::AppMissing => {
                out.exit_code = Some(1);
                out.error = Some(fail(ErrorKind::AppNotFound, "Could not find App \"app\""));
            }
            Script::FailHalf | Script::FailButHealthy => {
                out.exit_code = Some(1);
                out.error = Some(fail(
                    ErrorKind::HealthCheckTimeout,
                    "timeout reached waiting for health checks",
                ));
            }
            Script::FailUntouched => {
                out.exit_code = Some(1);
                out.error = Some(fail(
                    ErrorKind::ReleaseCommandFailed,
                    "release command failed",
                ));
            }
        }
        out
    }
}

/// Answers 200 in 10 ms for healthy images, and as told for the rest; reads what the fleet runs.
struct FakeProber {
    platform: FakePlatform,
    /// Images that answer 500.
    broken: Vec<&'static str>,
    /// Images that answer 200 but slowly.
    slow: Vec<&'static str>,
    /// After this many probes of NEW, NEW starts failing (the watch window case).
    new_fails_after: Option<u32>,
    /// Every n-th probe of NEW answers 429: a failed condition that is not critical.
    new_429_every: Option<u32>,
    /// After this many probes of NEW, NEW answers 200 with its body cut short.
    new_cut_short_after: Option<u32>,
    new_probes: Cell<u32>,
    /// A crashed machine's pinned probe gets a status line and a body cut short, instead of a
    /// refused connection: an answer that did not fully arrive.
    crashed_answers_half: bool,
    clock: Rc<FakeClock>,
}

impl Prober for FakeProber {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        let mut image = self
            .platform
            .live_images()
            .first()
            .cloned()
            .unwrap_or_default();
        // Pinned to one machine (Fly-Force-Instance-Id): a stopped machine wakes and answers
        // under autostop; otherwise it has crashed and nothing answers.
        if let Some(id) = &spec.machine_id {
            let world = self.platform.world.borrow();
            if let Some(m) = world.machines.iter().find(|m| &m.id == id) {
                if m.state == "stopped" && !world.autostop {
                    if self.crashed_answers_half {
                        return ProbeResult {
                            connected: true,
                            status: Some(200),
                            error: Some("the body was cut short: connection reset".into()),
                            ..ProbeResult::failed(Duration::from_millis(1), "")
                        };
                    }
                    return ProbeResult::failed(Duration::from_millis(1), "connection refused");
                }
                image.clone_from(&m.image);
            }
        }
        let mut latency = Duration::from_millis(10);
        let mut status = 200;
        if self.broken.contains(&image.as_str())
            || image.is_empty()
            || (spec.url.ends_with("/missing"))
        {
            status = if spec.url.ends_with("/missing") {
                404
            } else {
                500
            };
        }
        if self.slow.contains(&image.as_str()) {
            latency = Duration::from_millis(200);
        }
        if image == NEW {
            let n = self.new_probes.get() + 1;
            self.new_probes.set(n);
            if self
                .new_429_every
                .is_some_and(|every| n.is_multiple_of(every))
            {
                status = 429;
            }
            if self.new_fails_after.is_some_and(|after| n > after) {
                status = 503;
            }
            if self.new_cut_short_after.is_some_and(|after| n > after) {
                self.clock.now.set(self.clock.now.get() + latency);
                return ProbeResult {
                    connected: true,
                    status: Some(200),
                    latency,
                    error: Some("the body was cut short: connection reset".into()),
                    ..ProbeResult::default()
                };
            }
        }
        self.clock.now.set(self.clock.now.get() + latency);
        ProbeResult {
            connected: true,
            status: Some(status),
            latency,
            headers: Vec::new(),
            body: Vec::new(),
            body_truncated: false,
            cert_expires_in: None,
            ip: None,
            error: None,
        }
    }
}

#[derive(Default)]
struct FakeClock {
    now: Cell<Duration>,
}

impl Clock for Rc<FakeClock> {
    fn now(&self) -> Duration {
        self.now.get()
    }
    async fn sleep(&self, d: Duration) {
        self.now.set(self.now.get() + d);
        tokio::task::yield_now().await;
    }
}

struct Case {
    dir: tempfile::TempDir,
    platform: FakePlatform,
    prober: FakeProber,
    clock: Rc<FakeClock>,
    printer: Printer,
    stop: Stop,
    outputs: Rc<RefCell<Vec<(String, String, usize)>>>,
    /// `metrics:` configured (a 1% limit on the 5xx rise), answered by this fake.
    metrics: Option<crate::metrics::testing::FakeMetrics>,
}

impl Case {
    fn new(live: Option<&str>, scripts: &[Script]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".shipit");
        let platform = FakePlatform::new(&state, live, scripts);
        let clock = Rc::new(FakeClock::default());
        let prober = FakeProber {
            platform: platform.clone(),
            broken: Vec::new(),
            slow: Vec::new(),
            new_fails_after: None,
            new_429_every: None,
            new_cut_short_after: None,
            new_probes: Cell::new(0),
            crashed_answers_half: false,
            clock: clock.clone(),
        };
        Case {
            dir,
            platform,
            prober,
            clock,
            printer: Printer::capturing(),
            stop: Stop::new(),
            outputs: Rc::default(),
            metrics: None,
        }
    }

    fn service(&self, extra: &str) -> Service {
        std::fs::write(
            self.dir.path().join("smoke.yml"),
            "checks:\n  - name: home\n    path: /\n    expect: [\"[STATUS] == 200\"]\n  - name: missing page\n    path: /missing\n    expect: [\"[STATUS] == 200\"]\n",
        )
        .unwrap();
        let yaml = format!(
            "version: 1\ndefaults:\n  health: {{ interval: 1s, timeout: 1s, healthy_after: 2, unhealthy_after: 2, deadline: 30s }}\n  regression: {{ probes: 4, p95_ratio: 1.5, p95_slack: 20ms }}\n{extra}apps:\n  web: {{}}\nenvironments:\n  prod:\n    web: {{ app: app, url: \"http://127.0.0.1:9\" }}\n"
        );
        let config = crate::config::parse(&self.dir.path().join("shipit.yml"), &yaml).unwrap();
        config.environments[0].services[0].clone()
    }

    async fn run(&self, svc: &Service, opts: &DeployOptions) -> ServiceRecord {
        let state = self.dir.path().join(".shipit");
        let outputs = self.outputs.clone();
        let platform = self.platform.clone();
        let deps = Deps {
            platform: &self.platform,
            prober: &self.prober,
            clock: &self.clock,
            printer: &self.printer,
            stop: &self.stop,
            state: Box::new(StateDir(state)),
            database: Box::new(crate::pipeline::LiveDatabase {
                config_dir: self.dir.path().to_path_buf(),
            }),
            metrics: self
                .metrics
                .as_ref()
                .map(|m| m as &dyn crate::metrics::MetricsSource),
            fleet_poll: Duration::from_secs(2),
            output: Box::new(move |k, v| {
                outputs.borrow_mut().push((
                    k.into(),
                    v.into(),
                    platform.world.borrow().deploys.len(),
                ));
            }),
            group: Box::new(|_| {}),
        };
        let mut plan =
            ServicePlan::new(svc, opts.image.as_deref(), opts.strategy, opts.rollback).unwrap();
        plan.force_unhealthy_baseline = opts.force_unhealthy_baseline;
        plan.metrics_5xx = self.metrics.as_ref().map(|_| 0.01);
        deploy_service(&deps, &plan).await
    }
}

/// What `shipit deploy` was asked for, as the tests spell it.
struct DeployOptions {
    image: Option<String>,
    strategy: Option<crate::platform::Strategy>,
    rollback: bool,
    force_unhealthy_baseline: bool,
}

fn opts() -> DeployOptions {
    DeployOptions {
        image: Some(NEW.into()),
        strategy: None,
        rollback: true,
        force_unhealthy_baseline: false,
    }
}

fn steps(r: &ServiceRecord) -> Vec<&str> {
    r.steps.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test]
async fn a_good_release_walks_every_stage_in_order() {
    let c = Case::new(Some(OLD), &[]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded);
    assert_eq!(
        steps(&r),
        [
            "preflight",
            "migration lint",
            "baseline",
            "canary",
            "deploy",
            "fleet check",
            "health gate",
            "regression gate",
            "smoke",
            "database gate",
            "watch"
        ]
    );
    assert_eq!(c.platform.live_images(), [NEW, NEW]);
    assert_eq!(r.from.as_ref().unwrap().image, OLD);
    assert_eq!(r.to.as_ref().unwrap().image, NEW);
}

#[tokio::test]
async fn the_rollback_target_is_on_disk_and_published_before_the_deploy_call() {
    let c = Case::new(Some(OLD), &[]);
    c.run(&c.service(""), &opts()).await;
    assert_eq!(c.platform.world.borrow().target_on_disk, [true]);
    let outputs = c.outputs.borrow();
    let prev = outputs
        .iter()
        .find(|(k, _, _)| k == "previous_image")
        .unwrap();
    assert_eq!(
        (prev.1.as_str(), prev.2),
        (OLD, 0),
        "written before any deploy call"
    );
}

#[tokio::test]
async fn preflight_refuses_without_a_token_or_with_a_release_in_progress() {
    let mut c = Case::new(Some(OLD), &[]);
    c.platform.token = false;
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::FailedBeforeChange);
    assert_eq!(steps(&r), ["preflight"]);
    let mut c = Case::new(Some(OLD), &[]);
    c.platform.in_progress = true;
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::FailedBeforeChange);
    assert!(r.reason.unwrap().contains("in progress"));
    assert!(c.platform.deploy_images().is_empty());
}

#[tokio::test]
async fn a_deploy_that_cannot_find_the_app_is_refused_without_rollback() {
    let c = Case::new(Some(OLD), &[Script::AppMissing]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::FailedBeforeChange);
    assert_eq!(c.platform.deploy_images().len(), 1);
}

#[tokio::test]
async fn a_failure_that_touched_no_machine_needs_no_rollback() {
    let c = Case::new(Some(OLD), &[Script::FailUntouched]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::FailedBeforeChange);
    assert!(r.decision.unwrap().contains("no rollback needed"));
    assert_eq!(c.platform.deploy_images().len(), 1);
}

#[tokio::test]
async fn a_half_updated_fleet_is_rolled_back_to_the_baseline_image() {
    let c = Case::new(Some(OLD), &[Script::FailHalf]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack);
    assert_eq!(
        c.platform.deploy_images(),
        [Some(NEW.into()), Some(OLD.into())]
    );
    assert_eq!(c.platform.live_images(), [OLD, OLD]);
    assert_eq!(steps(&r).last(), Some(&"rollback health gate"));
}

#[tokio::test]
async fn flyctl_failing_on_a_healthy_fleet_goes_on_with_a_warning() {
    let c = Case::new(Some(OLD), &[Script::FailButHealthy]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded);
    assert!(!r.warnings.is_empty());
    assert!(r.decision.unwrap().contains("healthy from outside"));
}

#[tokio::test]
async fn a_crashed_machine_stops_the_deploy_call_and_rolls_back() {
    let c = Case::new(Some(OLD), &[Script::Crash]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack);
    assert!(r.reason.unwrap().contains("crashed"));
}

#[tokio::test]
async fn a_crashed_machine_whose_answer_is_cut_short_is_a_crash_not_a_wake() {
    // The crash check judges its pinned probe as every gate does: a status line and a body cut
    // short is no answer, whatever the conditions say of the status.
    let mut c = Case::new(Some(OLD), &[Script::Crash]);
    c.prober.crashed_answers_half = true;
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack);
    let reason = r.reason.unwrap();
    assert!(
        reason.contains("the new release crashed") && reason.contains("cut short"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_failed_health_gate_rolls_back_and_verifies_the_baseline() {
    let mut c = Case::new(Some(OLD), &[]);
    c.prober.broken = vec![NEW];
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack);
    assert!(
        r.gates
            .iter()
            .any(|g| g.name == "rollback health" && g.verdict == crate::report::Verdict::Pass)
    );
}

#[tokio::test]
async fn an_unhealthy_baseline_after_rollback_needs_a_human() {
    let mut c = Case::new(Some(OLD), &[]);
    c.prober.broken = vec![NEW, OLD];
    let forced = DeployOptions {
        force_unhealthy_baseline: true,
        ..opts()
    };
    let r = c.run(&c.service(""), &forced).await;
    assert_eq!(r.result, ServiceResult::RollbackFailed);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("--force-unhealthy-baseline")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test]
async fn a_baseline_failing_every_probe_refuses_before_the_deploy_call() {
    let mut c = Case::new(Some(OLD), &[]);
    c.prober.broken = vec![OLD];
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::FailedBeforeChange);
    assert!(c.platform.deploy_images().is_empty());
    let reason = r.reason.unwrap_or_default();
    assert!(reason.contains("already down"), "{reason}");
    assert!(reason.contains("--force-unhealthy-baseline"), "{reason}");
}

#[tokio::test]
async fn a_healthy_but_slower_release_fails_the_regression_gate() {
    let mut c = Case::new(Some(OLD), &[]);
    c.prober.slow = vec![NEW];
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack);
    assert!(steps(&r).contains(&"regression gate"));
    assert!(r.reason.unwrap().contains("regression"));
}

#[tokio::test]
async fn with_metrics_the_regression_gate_compares_the_5xx_share_with_the_baselines() {
    use crate::metrics::testing::FakeMetrics;
    let regression = |r: &ServiceRecord| {
        r.gates
            .iter()
            .find(|g| g.name == "regression")
            .cloned()
            .unwrap()
    };
    // 0.5% before the deploy, 4% since: more than 1% above the baseline's share.
    let mut c = Case::new(Some(OLD), &[]);
    let m = FakeMetrics::default();
    m.answer("[300s]", 0.005);
    m.answer("[60s]", 0.04);
    c.metrics = Some(m);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", r.gates);
    let g = regression(&r);
    assert_eq!(g.verdict, crate::report::Verdict::Fail);
    assert!(
        g.rule
            .contains("5xx share <= baseline's + 1.00% (Prometheus)"),
        "{}",
        g.rule
    );
    assert!(
        g.observed
            .contains("5xx share 0.50% before, 4.00% since the deploy"),
        "{}",
        g.observed
    );
    assert!(r.reason.unwrap().contains("regression gate failed"));
    let asked = c.metrics.as_ref().unwrap().asked.borrow().clone();
    assert!(
        asked
            .iter()
            .any(|(q, at)| q.contains("[300s]") && at.is_some()),
        "the baseline's share is read at the deploy call: {asked:?}"
    );
    // 1.2% before, 1.5% since: within the allowance.
    let mut c = Case::new(Some(OLD), &[]);
    let m = FakeMetrics::default();
    m.answer("[300s]", 0.012);
    m.answer("[60s]", 0.015);
    c.metrics = Some(m);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded);
    assert_eq!(regression(&r).verdict, crate::report::Verdict::Pass);
    // An endpoint that refuses: a warning, and the deploy goes on.
    let mut c = Case::new(Some(OLD), &[]);
    let m = FakeMetrics::default();
    m.fail(
        "fly_app_http_responses_count",
        "the metrics endpoint refused the token (401)",
    );
    c.metrics = Some(m);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded);
    assert_eq!(regression(&r).verdict, crate::report::Verdict::Warn);
    assert!(
        r.warnings.iter().any(|w| w.contains("refused the token")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test]
async fn a_failing_smoke_check_rolls_back() {
    let c = Case::new(Some(OLD), &[]);
    let r = c.run(&c.service("  smoke: smoke.yml\n"), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack);
    assert!(r.reason.unwrap().contains("smoke"));
}

#[tokio::test]
async fn a_failure_inside_the_watch_window_still_rolls_back() {
    let mut c = Case::new(Some(OLD), &[]);
    // 2 gate probes + 4 regression probes pass; then the release degrades.
    c.prober.new_fails_after = Some(8);
    let r = c.run(&c.service("  watch: 1m\n"), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", steps(&r));
    assert!(r.reason.unwrap().contains("watch"));
}

#[tokio::test]
async fn an_answer_cut_short_inside_the_watch_window_fails_it_as_it_fails_the_gate() {
    let mut c = Case::new(Some(OLD), &[]);
    // 2 gate probes + 4 regression probes pass; then every answer stops half way.
    c.prober.new_cut_short_after = Some(8);
    let r = c.run(&c.service("  watch: 1m\n"), &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", steps(&r));
    let reason = r.reason.unwrap();
    assert!(
        reason.contains("watch") && reason.contains("cut short"),
        "{reason}"
    );
}

#[tokio::test]
async fn without_a_target_or_with_rollback_off_a_failure_needs_a_human() {
    let mut c = Case::new(None, &[]);
    c.prober.broken = vec![NEW];
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::RollbackFailed);
    assert!(r.decision.unwrap().contains("no rollback target"));
    let mut c = Case::new(Some(OLD), &[]);
    c.prober.broken = vec![NEW];
    let r = c.run(&c.service("  rollback: off\n"), &opts()).await;
    assert_eq!(r.result, ServiceResult::RollbackFailed);
    assert_eq!(c.platform.deploy_images().len(), 1);
}

#[tokio::test]
async fn a_first_deploy_goes_on_without_a_target() {
    let c = Case::new(None, &[]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded);
    assert!(r.warnings.iter().any(|w| w.contains("first deploy")));
}

#[tokio::test]
async fn a_stop_before_the_run_is_recorded_as_cancelled() {
    let c = Case::new(Some(OLD), &[]);
    c.stop.trigger("cancelled by SIGINT");
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Cancelled);
    assert!(c.platform.deploy_images().is_empty());
    let _ = &c.clock;
}

#[tokio::test]
async fn redeploying_the_running_image_is_not_a_half_updated_fleet() {
    // A config-only deploy: the same image, a new release.
    let c = Case::new(Some(OLD), &[]);
    let opts = DeployOptions {
        image: Some(OLD.into()),
        strategy: None,
        rollback: true,
        force_unhealthy_baseline: false,
    };
    let r = c.run(&c.service(""), &opts).await;
    assert_eq!(r.result, ServiceResult::Succeeded, "{:?}", r.reason);
    assert_eq!(c.platform.deploy_images().len(), 1);
}

#[tokio::test]
async fn an_autostopped_fleet_is_judged_by_the_machines_it_has() {
    // Fly's proxy stops idle machines (auto_stop_machines): after the deploy none is `started`,
    // and the outside probe, which wakes them, decides.
    let c = Case::new(Some(OLD), &[]);
    c.platform.world.borrow_mut().autostop = true;
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded, "{:?}", r.reason);
    let woke = c
        .printer
        .captured()
        .iter()
        .any(|l| l.contains("woke for a probe: not a crash"));
    assert!(
        woke,
        "the fleet watcher saw the stopped machines and probed them: {:?}",
        c.printer.captured()
    );
}

/// The lines `plan` prints name the stages the pipeline walks, in the same order, and the argv it
/// shows is the one the deploy call and the rollback get, for every config and flag combination.
#[tokio::test]
async fn plan_and_pipeline_agree_on_the_stages_and_the_flyctl_calls() {
    use crate::platform::{Strategy, flyctl_deploy_argv};
    use crate::report::ReleaseRef;
    let configs = [
        "",
        "  smoke: smoke.yml\n",
        "  watch: 1m\n",
        "  strategy: bluegreen\n",
        "  rollback: off\n",
        "  strategy: canary\n",
    ];
    let flags = [
        opts(),
        DeployOptions {
            image: None,
            strategy: Some(Strategy::Immediate),
            rollback: true,
            force_unhealthy_baseline: false,
        },
        DeployOptions {
            image: Some(NEW.into()),
            strategy: Some(Strategy::Canary),
            rollback: false,
            force_unhealthy_baseline: false,
        },
    ];
    for extra in configs {
        for flag in &flags {
            let mut c = Case::new(Some(OLD), &[]);
            // The new release fails its health gate, so the rollback call is walked too.
            c.prober.broken = vec![NEW];
            let svc = c.service(extra);
            let plan = ServicePlan::new(&svc, flag.image.as_deref(), flag.strategy, flag.rollback)
                .unwrap();
            let target = ReleaseRef {
                version: Some(5),
                image: OLD.into(),
            };
            let fleet = c
                .platform
                .world
                .borrow()
                .machines
                .iter()
                .map(crate::baseline::MachineSummary::from_machine)
                .collect();
            let view = super::PlanView {
                plan: &plan,
                target: Some(Some(target)),
                fleet: Some(fleet),
            };
            let lines = super::plan::describe(&view);
            let planned: Vec<&str> = lines.iter().map(|l| l.split(':').next().unwrap()).collect();
            let mut expected = super::plan::stage_names();
            expected.push("on failure");
            assert_eq!(planned, expected, "{extra:?}");

            let r = c.run(&svc, flag).await;
            let walked: Vec<&str> = steps(&r)
                .into_iter()
                .take_while(|s| !s.starts_with("rollback"))
                .collect();
            assert_eq!(
                walked,
                super::plan::stage_names()[..walked.len()],
                "{extra:?}: {:?}",
                r.reason
            );
            let deploys = c.platform.world.borrow().deploys.clone();
            let canary = plan.canary.is_some();
            // The first call: the canary's (`--only-machines`) or the whole deploy.
            let first_line = lines
                .iter()
                .find(|l| l.starts_with(if canary { "canary:" } else { "deploy:" }))
                .unwrap();
            assert!(
                first_line.contains(&flyctl_deploy_argv(&deploys[0]).join(" ")),
                "{extra:?}: {first_line} vs {:?}",
                deploys[0]
            );
            // flyctl never gets its own canary strategy.
            assert!(
                deploys.iter().all(|d| d.strategy != Some(Strategy::Canary)),
                "{extra:?}: {deploys:?}"
            );
            // The way back: the failed canary's (`--only-machines`, in the canary line) or the
            // whole fleet's (the last line).
            let back_line = if canary {
                first_line
            } else {
                lines.last().unwrap()
            };
            match deploys.get(1) {
                Some(rollback) => assert!(
                    back_line.contains(&flyctl_deploy_argv(rollback).join(" ")),
                    "{extra:?}: {back_line} vs {rollback:?}"
                ),
                None => assert!(
                    lines.last().unwrap().contains("no rollback"),
                    "{extra:?}: {}",
                    lines.last().unwrap()
                ),
            }
        }
    }
}

/// A canary that passes: plan's canary and deploy lines hold the two calls the run makes.
#[tokio::test]
async fn plan_and_pipeline_agree_on_a_passing_canary() {
    use crate::platform::flyctl_deploy_argv;
    let c = Case::new(Some(OLD), &[]);
    let svc = c.service("  strategy: canary\n");
    let plan = ServicePlan::new(&svc, Some(NEW), None, true).unwrap();
    let fleet = c
        .platform
        .world
        .borrow()
        .machines
        .iter()
        .map(crate::baseline::MachineSummary::from_machine)
        .collect();
    let view = super::PlanView {
        plan: &plan,
        target: Some(Some(crate::report::ReleaseRef {
            version: Some(5),
            image: OLD.into(),
        })),
        fleet: Some(fleet),
    };
    let lines = super::plan::describe(&view);
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded, "{:?}", r.reason);
    let deploys = c.platform.world.borrow().deploys.clone();
    assert_eq!(deploys.len(), 2, "{deploys:?}");
    let canary_line = lines.iter().find(|l| l.starts_with("canary:")).unwrap();
    let deploy_line = lines.iter().find(|l| l.starts_with("deploy:")).unwrap();
    assert!(canary_line.contains(&flyctl_deploy_argv(&deploys[0]).join(" ")));
    assert!(canary_line.contains("--only-machines m1"), "{canary_line}");
    assert!(deploy_line.contains(&flyctl_deploy_argv(&deploys[1]).join(" ")));
    assert!(
        deploy_line.contains("--exclude-machines m1"),
        "{deploy_line}"
    );
}

/// A release that passes walks exactly the table, and plan lists exactly the table.
#[tokio::test]
async fn a_passing_release_walks_every_stage_plan_lists() {
    let c = Case::new(Some(OLD), &[]);
    let svc = c.service("  watch: 1m\n");
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded, "{:?}", r.reason);
    assert_eq!(steps(&r), super::plan::stage_names());
}

/// Built with `--cfg shipit_noop_gate` (scripts/check-gate-recipe): the gate added by one file
/// and one table line is walked by the pipeline and listed by plan, after smoke.
#[cfg(shipit_noop_gate)]
#[tokio::test]
async fn a_gate_added_to_the_table_is_run_and_planned() {
    let c = Case::new(Some(OLD), &[]);
    let r = c.run(&c.service(""), &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded, "{:?}", r.reason);
    assert!(steps(&r).contains(&"noop gate"), "{:?}", steps(&r));
    assert!(r.gates.iter().any(|g| g.name == "noop"));
    assert!(super::plan::stage_names().contains(&"noop gate"));
}

#[path = "tests/canary.rs"]
mod canary;
