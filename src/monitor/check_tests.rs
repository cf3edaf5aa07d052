//! `monitor::check::run` over a fake world: two passes moving the clock, a missing app, cost
//! findings at info level, and a slow app healing (in its own file so check.rs stays short).
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::*;
use crate::monitor::testing::{FakeSender, MemoryStore};
use crate::platform::{
    AppStatus, DeployOutcome, DeployRequest, LogEntry, Machine, OutputLine, PlatformError, Release,
    SecretInfo,
};
use crate::probe::ProbeResult;
use crate::stop::Stop;

/// One app per name: its machines and logs; a name it does not know is a missing app.
struct World {
    apps: BTreeMap<String, (Vec<Machine>, Vec<LogEntry>)>,
}

impl Platform for World {
    fn name(&self) -> &'static str {
        "world"
    }
    fn has_token(&self) -> bool {
        true
    }
    async fn status(&self, app: &str) -> Result<AppStatus, PlatformError> {
        let (machines, _) = self.apps.get(app).ok_or_else(|| PlatformError {
            kind: ErrorKind::AppNotFound,
            command: format!("flyctl status --json --app {app}"),
            message: format!("Could not find App \"{app}\""),
        })?;
        Ok(AppStatus {
            app: app.into(),
            version: 1,
            status: "deployed".into(),
            hostname: String::new(),
            machines: machines.clone(),
        })
    }
    async fn releases(&self, _: &str) -> Result<Vec<Release>, PlatformError> {
        Ok(Vec::new())
    }
    async fn secrets(&self, _: &str) -> Result<Vec<SecretInfo>, PlatformError> {
        Ok(Vec::new())
    }
    async fn logs(&self, app: &str, _: Duration) -> Result<Vec<LogEntry>, PlatformError> {
        Ok(self.apps.get(app).map(|a| a.1.clone()).unwrap_or_default())
    }
    fn deploy_argv(&self, req: &DeployRequest) -> Vec<String> {
        crate::platform::flyctl_deploy_argv(req)
    }
    async fn deploy(
        &self,
        req: &DeployRequest,
        _: &mut dyn FnMut(OutputLine<'_>),
        _: &Stop,
    ) -> DeployOutcome {
        unreachable!("check never deploys: {req:?}")
    }
}

/// Every app's machines, billed as started shared-1x 256 MB with autostop off: in a staging
/// environment, each app with a machine is an `autostop_off` saving.
impl InventorySource for World {
    async fn inventory(
        &self,
        app: &str,
    ) -> Result<crate::platform::inventory::Inventory, PlatformError> {
        let machines = self.status(app).await?.machines;
        Ok(crate::platform::inventory::Inventory {
            machines: machines
                .iter()
                .map(|m| crate::platform::inventory::SizedMachine {
                    id: m.id.clone(),
                    region: m.region.clone(),
                    state: m.state.clone(),
                    process_group: None,
                    cpu_kind: "shared".into(),
                    cpus: 1,
                    memory_mb: 256,
                    autostop: crate::platform::inventory::Autostop::Off,
                    min_machines_running: 0,
                    rootfs_gb: None,
                    mounts: Vec::new(),
                    soft_limit: None,
                })
                .collect(),
            volumes: Vec::new(),
        })
    }
}

/// Answers every probe with the latency and status set for its URL's host.
struct Answers(RefCell<BTreeMap<String, (u16, u64)>>);

impl Prober for Answers {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        let host = spec.url.split('/').nth(2).unwrap_or_default().to_owned();
        let (status, ms) = self.0.borrow().get(&host).copied().unwrap_or((200, 10));
        ProbeResult {
            connected: true,
            status: Some(status),
            latency: Duration::from_millis(ms),
            ..ProbeResult::default()
        }
    }
}

fn machine() -> Machine {
    Machine {
        id: "148ed193b95089".into(),
        name: "m".into(),
        state: "started".into(),
        region: "iad".into(),
        image: "img".into(),
        release_version: Some(1),
        process_group: None,
        host_status: "ok".into(),
        checks: Vec::new(),
        events: Vec::new(),
    }
}

#[test]
fn a_slow_app_crosses_fifteen_minutes_across_two_runs_and_a_missing_app_is_critical() {
    let config = crate::config::parse(
        Path::new("/nonexistent/shipit.yml"),
        "version: 1\napps: { web: {}, slow: {}, gone: {} }\nenvironments:\n  staging:\n    web: { app: web-s, url: http://web.test }\n    slow: { app: slow-s, url: http://slow.test }\n    gone: { app: gone-s, url: http://gone.test }\n",
    )
    .unwrap();
    let world = World {
        apps: BTreeMap::from([
            ("web-s".to_owned(), (vec![machine()], Vec::new())),
            ("slow-s".to_owned(), (vec![machine()], Vec::new())),
        ]),
    };
    let answers = Answers(RefCell::new(BTreeMap::from([(
        "slow.test".to_owned(),
        (200, 6000),
    )])));
    let store = MemoryStore::default();
    let sender = FakeSender::new();
    let prices = crate::cost::Prices::shipped();
    let deps = Deps {
        platform: &world,
        prober: &answers,
        store: &store,
        sender: &sender,
        metrics: None,
        cost: Some(CostScope {
            prices: &prices,
            always_on: &[],
        }),
    };
    let services: Vec<&Service> = config.services().collect();
    let t0 = UNIX_EPOCH + Duration::from_secs(1_787_313_600);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let first = rt
        .block_on(run("staging", &services, &config.monitor, t0, &deps))
        .unwrap();
    let level = |r: &CheckReport, app: &str| r.apps.iter().find(|a| a.app == app).unwrap().level;
    assert_eq!(level(&first, "web-s"), crate::monitor::Level::Info);
    let web = first.apps.iter().find(|a| a.app == "web-s").unwrap();
    let cost: Vec<(&str, crate::monitor::Level, Status)> = web
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.level, f.status))
        .collect();
    assert_eq!(
        cost,
        [("autostop_off", crate::monitor::Level::Info, Status::Seen)],
        "cost findings are information, never tracked"
    );
    assert!(
        first
            .apps
            .iter()
            .find(|a| a.app == "gone-s")
            .unwrap()
            .findings
            .iter()
            .all(|f| f.rule != "autostop_off")
    );
    assert_eq!(
        level(&first, "slow-s"),
        crate::monitor::Level::Warning,
        "slow, but not for 15 minutes yet"
    );
    assert_eq!(level(&first, "gone-s"), crate::monitor::Level::Critical);
    assert_eq!(
        sender.log(),
        ["trigger staging/gone-s/app_missing critical"]
    );
    let second = rt
        .block_on(run(
            "staging",
            &services,
            &config.monitor,
            t0 + Duration::from_secs(16 * 60),
            &deps,
        ))
        .unwrap();
    assert_eq!(level(&second, "slow-s"), crate::monitor::Level::Alert);
    assert!(second.needs_action);
    assert_eq!(sender.log().len(), 2, "{:?}", sender.log());
    assert_eq!(sender.log()[1], "trigger staging/slow-s/slow alert");
    let table = second.table().join("\n");
    assert!(table.contains("staging/web (web-s): clean"), "{table}");
    assert!(table.contains("slow "), "{table}");
    assert!(
        second
            .summary_markdown()
            .contains("| slow-s | alert | `slow` | open |")
            || second
                .summary_markdown()
                .contains("| slow-s | alert | `slow` | firing |"),
        "{}",
        second.summary_markdown()
    );
    // Healed: two clean passes resolve it.
    answers.0.borrow_mut().clear();
    for minutes in [20, 24] {
        rt.block_on(run(
            "staging",
            &services,
            &config.monitor,
            t0 + Duration::from_secs(minutes * 60),
            &deps,
        ))
        .unwrap();
    }
    assert!(
        sender
            .log()
            .contains(&"resolve staging/slow-s/slow alert".to_owned()),
        "{:?}",
        sender.log()
    );
    assert_eq!(store.alert("staging", "slow-s", "slow"), None);
}
