//! How much of a bad release users meet, measured on the real pipeline (`shipit::pipeline::
//! deploy_service`, every stage of it) rather than on a model: `strategy: canary` against
//! today's all-machines rolling deploy, for `scripts/bench-canary`. Prints figures and ratios;
//! never fails on a missed target.
//!
//! The platform, the prober and the clock are simulated (a deploy takes `PER_MACHINE` of
//! simulated time for each machine it updates, one after another, as a rolling deploy does; a
//! probe takes its latency), so a 2-minute window costs milliseconds. The bad release answers
//! three times slower than the good one (log-normal latencies, median 40 ms against 120 ms),
//! over the health condition `[RESPONSE_TIME] < 100ms`: today's health gate rejects it, and so
//! does the canary's judgement (its error rate). Exposure is the integral, over simulated time,
//! of the share of machines that run the bad image (requests spread evenly over machines), from
//! the first machine updated until the last is back.
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use shipit::pipeline::{Deps, LiveDatabase, ServicePlan, StateDir, deploy_service};
use shipit::platform::{
    AppStatus, Check, DeployOutcome, DeployRequest, LogEntry, Machine, OutputLine, Platform,
    PlatformError, Release, ReleaseLine, SecretInfo,
};
use shipit::printer::Printer;
use shipit::probe::{Clock, ProbeResult, ProbeSpec, Prober};
use shipit::stop::Stop;

const GOOD: &str = "registry.fly.io/app:good";
const BAD: &str = "registry.fly.io/app:bad";
/// Simulated time a rolling deploy spends on one machine (image pull, start, Fly's checks).
const PER_MACHINE: Duration = Duration::from_secs(15);

/// Simulated time, shared by the platform, the prober and the pipeline.
#[derive(Clone, Default)]
struct SimClock(Rc<Cell<Duration>>);

impl Clock for SimClock {
    fn now(&self) -> Duration {
        self.0.get()
    }
    async fn sleep(&self, d: Duration) {
        self.0.set(self.0.get() + d);
    }
}

struct World {
    machines: Vec<Machine>,
    releases: Vec<Release>,
    /// (when, machines on the bad image), at every change.
    timeline: Vec<(Duration, usize)>,
}

#[derive(Clone)]
struct SimPlatform {
    world: Rc<RefCell<World>>,
    clock: SimClock,
}

fn release(version: u64, image: &str) -> Release {
    Release {
        version,
        status: "complete".into(),
        in_progress: false,
        image: image.into(),
        created_at: String::new(),
        description: String::new(),
        user: String::new(),
    }
}

impl SimPlatform {
    fn new(fleet: usize, clock: SimClock) -> SimPlatform {
        let machines = (0..fleet)
            .map(|i| Machine {
                id: format!("m{i:02}"),
                name: format!("m{i:02}"),
                state: "started".into(),
                region: "iad".into(),
                image: GOOD.into(),
                release_version: Some(5),
                process_group: Some("app".into()),
                host_status: "ok".into(),
                checks: vec![Check {
                    name: "servicecheck-00-http-3000".into(),
                    status: "passing".into(),
                    output: String::new(),
                }],
                events: Vec::new(),
            })
            .collect();
        SimPlatform {
            world: Rc::new(RefCell::new(World {
                machines,
                releases: vec![release(5, GOOD), release(4, "registry.fly.io/app:older")],
                timeline: Vec::new(),
            })),
            clock,
        }
    }

    /// Machine-seconds on the bad image, divided by the fleet: the requests that met it, in
    /// seconds of the whole fleet's traffic.
    fn exposure(&self) -> f64 {
        let w = self.world.borrow();
        let fleet = w.machines.len() as f64;
        w.timeline
            .windows(2)
            .map(|p| p[1].0.saturating_sub(p[0].0).as_secs_f64() * p[0].1 as f64 / fleet)
            .sum()
    }
}

impl Platform for SimPlatform {
    fn name(&self) -> &'static str {
        "sim"
    }
    fn has_token(&self) -> bool {
        true
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
        Ok(self.world.borrow().releases.clone())
    }
    async fn secrets(&self, _app: &str) -> Result<Vec<SecretInfo>, PlatformError> {
        Ok(Vec::new())
    }
    async fn logs(&self, _app: &str, _wait: Duration) -> Result<Vec<LogEntry>, PlatformError> {
        Ok(Vec::new())
    }
    fn deploy_argv(&self, req: &DeployRequest) -> Vec<String> {
        shipit::platform::flyctl_deploy_argv(req)
    }
    async fn deploy(
        &self,
        req: &DeployRequest,
        _on_line: &mut dyn FnMut(OutputLine<'_>),
        _stop: &Stop,
    ) -> DeployOutcome {
        let image = req.image.clone().unwrap_or_else(|| BAD.into());
        let version = {
            let w = self.world.borrow();
            w.releases.iter().map(|r| r.version).max().unwrap_or(0) + 1
        };
        let chosen: Vec<usize> = {
            let w = self.world.borrow();
            (0..w.machines.len())
                .filter(|&i| {
                    let id = &w.machines[i].id;
                    (req.machines.only.is_empty() || req.machines.only.contains(id))
                        && !req.machines.exclude.contains(id)
                })
                .collect()
        };
        for i in chosen {
            self.clock.0.set(self.clock.0.get() + PER_MACHINE);
            let mut w = self.world.borrow_mut();
            w.machines[i].image.clone_from(&image);
            w.machines[i].release_version = Some(version);
            let bad = w.machines.iter().filter(|m| m.image == BAD).count();
            let now = self.clock.0.get();
            w.timeline.push((now, bad));
        }
        self.world
            .borrow_mut()
            .releases
            .insert(0, release(version, &image));
        DeployOutcome {
            argv: self.deploy_argv(req),
            exit_code: Some(0),
            release: Some(ReleaseLine {
                id: "rel".into(),
                version,
                image_ref: image,
            }),
            error: None,
            timed_out: false,
            stopped: false,
            elapsed: Duration::ZERO,
        }
    }
}

/// Log-normal latencies by image: pinned probes by their machine's, unpinned ones round-robin
/// over the fleet, as Fly's proxy balances.
struct SimProber {
    platform: SimPlatform,
    rng: Cell<u64>,
    next: Cell<usize>,
}

impl SimProber {
    fn uniform(&self) -> f64 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        ((x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

impl Prober for SimProber {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        let image = {
            let w = self.platform.world.borrow();
            let m = if let Some(id) = &spec.machine_id {
                w.machines.iter().find(|m| &m.id == id)
            } else {
                let i = self.next.get();
                self.next.set(i + 1);
                w.machines.get(i % w.machines.len().max(1))
            };
            m.map(|m| m.image.clone()).unwrap_or_default()
        };
        let median = if image == BAD { 120.0 } else { 40.0 };
        let (a, b) = (self.uniform(), self.uniform());
        let z = (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos();
        let latency = Duration::from_secs_f64(median * (0.25 * z).exp() / 1000.0);
        let clock = &self.platform.clock;
        clock.0.set(clock.0.get() + latency);
        ProbeResult {
            connected: true,
            status: Some(200),
            latency,
            ..ProbeResult::default()
        }
    }
}

/// One deploy of the bad release through the real pipeline; returns (exposure in seconds of
/// the fleet's traffic, the run's result, the canary's share of the fleet when there was one).
fn deploy(fleet: usize, strategy: &str) -> (f64, String, Option<f64>) {
    let dir = std::env::temp_dir().join(format!(
        "shipit-canary-exposure-{}-{fleet}-{strategy}",
        std::process::id()
    ));
    let yaml = format!(
        "version: 1\ndefaults:\n  strategy: {strategy}\n  health: {{ interval: 2s, timeout: 5s, healthy_after: 3, unhealthy_after: 3, deadline: 5m, expect: [\"[STATUS] == 200\", \"[RESPONSE_TIME] < 100ms\"] }}\napps:\n  web: {{}}\nenvironments:\n  prod:\n    web: {{ app: app, url: \"http://127.0.0.1:9\" }}\n"
    );
    let config = shipit::config::parse(&dir.join("shipit.yml"), &yaml).expect("the bench config");
    let svc = config.environments[0].services[0].clone();
    let clock = SimClock::default();
    let platform = SimPlatform::new(fleet, clock.clone());
    let prober = SimProber {
        platform: platform.clone(),
        rng: Cell::new(0x5EED_CA4A_4D5E_ED01 ^ fleet as u64),
        next: Cell::new(0),
    };
    platform
        .world
        .borrow_mut()
        .timeline
        .push((Duration::ZERO, 0));
    let printer = Printer::capturing();
    let stop = Stop::new();
    let deps = Deps {
        platform: &platform,
        prober: &prober,
        clock: &clock,
        printer: &printer,
        stop: &stop,
        state: Box::new(StateDir(dir.join(".shipit"))),
        database: Box::new(LiveDatabase {
            config_dir: dir.clone(),
        }),
        // The fleet watcher's sleeps would run on the simulated clock on top of the deploy's
        // own time (a simulated deploy returns at once); with no poll interval they cost none.
        fleet_poll: Duration::ZERO,
        metrics: None,
        output: Box::new(|_, _| {}),
        group: Box::new(|_| {}),
    };
    let plan = ServicePlan::new(&svc, Some(BAD), None, true).expect("the bench plan");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let record = runtime.block_on(deploy_service(&deps, &plan));
    let _ = std::fs::remove_dir_all(&dir);
    let share = record
        .canary
        .as_ref()
        .map(|c| c.machines.len() as f64 / c.fleet as f64);
    (platform.exposure(), format!("{:?}", record.result), share)
}

fn main() {
    println!(
        "exposure to a bad release (3x slower, over `[RESPONSE_TIME] < 100ms`) through the real pipeline, {}s of deploy per machine, simulated clock:",
        PER_MACHINE.as_secs()
    );
    for fleet in [2, 4, 10] {
        let (rolling, rolling_result, _) = deploy(fleet, "rolling");
        let (canary, canary_result, share) = deploy(fleet, "canary");
        let share = share.unwrap_or(1.0);
        let ratio = canary / rolling;
        println!(
            "fleet of {fleet}: all-machines pipeline {rolling:.0}s of the fleet's traffic ({rolling_result}), canary {canary:.0}s ({canary_result}); {:.1} % of today's (target <= the canary's fleet share {:.0} %; ratio {:.2})",
            ratio * 100.0,
            share * 100.0,
            ratio / share
        );
    }
}
