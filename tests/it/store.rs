//! The record's one test suite, run against every backend (`suite!` instantiates it per
//! backend): append and read back, 8 processes appending at once, alert compare-and-set under
//! contention, receipts whole after `kill -9` mid-write, and a reader that never sees half an
//! entry. Child processes are this test binary re-run in a child mode (`child_process`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shipit::report::RunRecord;
use shipit::store::{self, AlertKey, AlertState, Cas, Promotion, RunQuery, Store};

use crate::notify::rolled_back;
use crate::support::postgres::Postgres;

const CHILD_CONFIG: &str = "SHIPIT_IT_STORE_CHILD_CONFIG";
const CHILD_MODE: &str = "SHIPIT_IT_STORE_CHILD_MODE";
const CHILD_N: &str = "SHIPIT_IT_STORE_CHILD_N";
const CHILD_ROUNDS: &str = "SHIPIT_IT_STORE_CHILD_ROUNDS";
const CHILDREN: usize = 8;
/// Issue lines per run in the concurrency tests: about 40 KB a receipt, so a torn write would
/// show.
const LINES: usize = 500;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Local,
    Git,
    Postgres,
}

/// A project folder whose shipit.yml points at a fresh store of one backend.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: PathBuf,
    pg: Option<Postgres>,
    /// The git store's bare "remote" (the config's folder is a clone of it).
    pub(crate) remote: Option<tempfile::TempDir>,
    /// Appends (and alert increments, times two) per child: enough that every child is still
    /// writing when the last one starts. Every git write is a fetch, a commit and a push that 7
    /// others race (tens of milliseconds each), so git needs fewer than the local files.
    rounds: usize,
}

impl Fixture {
    pub(crate) fn new(backend: Backend) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("shipit.yml");
        let mut remote = None;
        let (store, pg) = match backend {
            Backend::Local => ("store: local\n".to_owned(), None),
            Backend::Git => {
                let bare = tempfile::tempdir().unwrap();
                git(bare.path(), &["init", "--quiet", "--bare", "-b", "main"]);
                clone_into(bare.path(), dir.path());
                remote = Some(bare);
                ("store: { git: {} }\n".to_owned(), None)
            }
            Backend::Postgres => {
                let pg = Postgres::start();
                (
                    format!(
                        "store: {{ postgres: {{ url: \"{}\" }} }}\n",
                        pg.url("postgres")
                    ),
                    Some(pg),
                )
            }
        };
        std::fs::write(&config, format!("version: 1\n{store}")).unwrap();
        Fixture {
            dir,
            config,
            pg,
            rounds: match backend {
                Backend::Git => 3,
                Backend::Local | Backend::Postgres => 20,
            },
            remote,
        }
    }

    pub(crate) fn open(&self) -> Box<dyn Store> {
        store::open_for_reading(&self.config).unwrap()
    }

    fn child(&self, mode: &str, n: usize) -> Child {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "store::child_process",
                "--exact",
                "--test-threads=1",
                "--quiet",
            ])
            .env(CHILD_CONFIG, &self.config)
            .env(CHILD_MODE, mode)
            .env(CHILD_N, n.to_string())
            .env(CHILD_ROUNDS, self.rounds.to_string())
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }

    fn go_file(config: &Path) -> PathBuf {
        config.with_file_name("go")
    }

    /// Written by child `n` once its store is open and has answered once (connected, fetched),
    /// so that after the go file every child's first action is a write.
    fn ready_file(config: &Path, n: usize) -> PathBuf {
        config.with_file_name(format!("ready-{n}"))
    }

    /// Written by child `n` when it is done: when its first write began and its last ended, in
    /// nanoseconds of the system clock (one machine, one clock).
    fn span_file(config: &Path, n: usize) -> PathBuf {
        config.with_file_name(format!("span-{n}"))
    }

    /// Each child's (start, end), read after they have all exited successfully.
    fn spans(&self, count: usize) -> Vec<(u128, u128)> {
        (0..count)
            .map(|n| {
                let text = std::fs::read_to_string(Self::span_file(&self.config, n)).unwrap();
                let (a, b) = text.trim().split_once(' ').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect()
    }
}

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Every child had begun writing before any child finished: all of them were writing at once
/// (the latest start is before the earliest end).
fn assert_all_at_once(spans: &[(u128, u128)]) {
    let last_start = spans.iter().map(|s| s.0).max().unwrap();
    let first_end = spans.iter().map(|s| s.1).min().unwrap();
    assert!(
        last_start < first_end,
        "the {} writers overlapped: the last began {} ms after the first finished",
        spans.len(),
        (last_start - first_end) / 1_000_000
    );
}

/// Runs git in `dir`; panics (with its stderr) when it fails. Returns stdout.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .expect("test setup: git is installed");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Makes `into` a clone of the bare `remote` with one commit on `main` (a user's checkout).
pub(crate) fn clone_into(remote: &Path, into: &Path) {
    git(into, &["init", "--quiet", "-b", "main"]);
    git(into, &["remote", "add", "origin", remote.to_str().unwrap()]);
    if git(remote, &["branch", "--list", "main"]).trim().is_empty() {
        std::fs::write(into.join("app.txt"), "the app\n").unwrap();
        git(into, &["add", "app.txt"]);
        git(into, &["commit", "--quiet", "-m", "the app"]);
        git(into, &["push", "--quiet", "origin", "main"]);
    } else {
        git(into, &["fetch", "--quiet", "origin"]);
        git(into, &["checkout", "--quiet", "-B", "main", "origin/main"]);
    }
}

pub(crate) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A run of child `n`, number `i`, with `lines` issue lines that all name it.
fn run(n: usize, i: usize, lines: usize) -> RunRecord {
    let mut r = rolled_back();
    r.id = format!("20261127T10{:02}{:02}Z-c{n}r{i}", n % 60, i % 60);
    r.started_at = format!("2026-11-27T10:{:02}:{:02}Z", n % 60, i % 60);
    r.services[0].issues = (0..lines)
        .map(|l| format!("child {n} run {i} line {l:04} {}", "x".repeat(60)))
        .collect();
    r
}

/// Whether a run read back is whole: every issue line present and its own.
fn whole(r: &RunRecord, lines: usize) -> bool {
    let issues = &r.services[0].issues;
    let Some(tag) = r.id.split('-').nth(1) else {
        return false;
    };
    let (n, i) = tag[1..].split_once('r').unwrap();
    issues.len() == lines
        && issues
            .iter()
            .all(|l| l.starts_with(&format!("child {n} run {i} line ")))
}

fn key(rule: &str) -> AlertKey {
    AlertKey {
        env: "staging".into(),
        app: "hotdash-staging".into(),
        rule: rule.into(),
    }
}

fn promotion(run_id: &str, service: &str) -> Promotion {
    Promotion {
        env: "staging".into(),
        service: service.into(),
        app: format!("{service}-staging"),
        image: format!("registry.fly.io/{service}:{run_id}"),
        version: Some(7),
        run_id: run_id.into(),
        at: "2026-11-27T10:00:00Z".into(),
        all_gates_passed: true,
        proved_by: None,
    }
}

fn holder(n: usize) -> store::LockHolder {
    store::LockHolder {
        host: format!("runner-{n}"),
        pid: std::process::id(),
        run_id: format!("20261127T100000Z-lock{n}"),
        run_url: Some(format!("https://github.com/acme/app/actions/runs/{n}")),
        started_at: "2026-11-27T10:00:00Z".into(),
    }
}

/// Not a test on its own: the body of each child process. Without the variables it does nothing.
#[test]
fn child_process() {
    let (Ok(config), Ok(mode), Ok(n)) = (
        std::env::var(CHILD_CONFIG),
        std::env::var(CHILD_MODE),
        std::env::var(CHILD_N),
    ) else {
        return;
    };
    let config = PathBuf::from(config);
    let n: usize = n.parse().unwrap();
    let rounds: usize = std::env::var(CHILD_ROUNDS).unwrap().parse().unwrap();
    let go = Fixture::go_file(&config);
    let store = store::open_for_reading(&config).unwrap();
    if mode != "lock" {
        // Connected (postgres) and fetched (git) before the start, so the race is of writes.
        block_on(store.runs(&RunQuery {
            limit: Some(1),
            ..RunQuery::default()
        }))
        .unwrap();
    }
    std::fs::write(Fixture::ready_file(&config, n), "").unwrap();
    let start = Instant::now();
    while !go.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let began = now_ns();
    block_on(async {
        match mode.as_str() {
            "append" => {
                for i in 0..rounds {
                    store.append_run(&run(n, i, LINES)).await.unwrap();
                }
            }
            "cas" => {
                let k = key("counter");
                for _ in 0..rounds * 2 {
                    loop {
                        let now = store.alerts(Some("staging")).await.unwrap();
                        let current = now.into_iter().find(|(kk, _)| *kk == k).map(|(_, v)| v);
                        let mut next = current
                            .as_ref()
                            .map_or_else(AlertState::default, |v| v.value.clone());
                        next.clean_checks += 1;
                        let expected = current.as_ref().map(|v| v.version);
                        match store.put_alert(&k, expected, Some(&next)).await.unwrap() {
                            Cas::Written(_) => break,
                            Cas::Conflict(_) => {}
                        }
                    }
                }
            }
            "forever" => {
                for i in 0.. {
                    store.append_run(&run(n, i, LINES * 4)).await.unwrap();
                }
            }
            "lock" => {
                let mut holder = holder(n);
                holder.pid = std::process::id();
                let held = store.lock("web", &holder, None).await.unwrap();
                assert!(
                    matches!(held, store::Locked::Held(_)),
                    "the child takes the lock"
                );
                std::fs::write(config.with_file_name(format!("held-{n}")), "").unwrap();
                // Hold it until killed.
                tokio::time::sleep(Duration::from_secs(600)).await;
                drop(held);
            }
            other => panic!("unknown child mode {other}"),
        }
    });
    std::fs::write(
        Fixture::span_file(&config, n),
        format!("{began} {}", now_ns()),
    )
    .unwrap();
}

pub(crate) fn append_and_read_back(backend: Backend) {
    let fx = Fixture::new(backend);
    let s = fx.open();
    block_on(async {
        let list = s.runs(&RunQuery::default()).await.unwrap();
        assert!(list.runs.is_empty() && list.unreadable.is_empty());
        let e = s.find_run("last").await.unwrap_err();
        assert!(format!("{e:#}").contains("no runs recorded"), "{e:#}");
        for i in 0..3 {
            s.append_run(&run(1, i, 3)).await.unwrap();
        }
        let mut other = run(2, 9, 1);
        other.env = Some("production".into());
        other.services[0].env = "production".into();
        other.services[0].app = "hotdash-production".into();
        s.append_run(&other).await.unwrap();
        // Appending the same run again changes nothing (a migration can be re-run).
        s.append_run(&run(1, 0, 3)).await.unwrap();

        let all = s.runs(&RunQuery::default()).await.unwrap();
        let ids: Vec<&str> = all.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "20261127T100209Z-c2r9",
                "20261127T100102Z-c1r2",
                "20261127T100101Z-c1r1",
                "20261127T100100Z-c1r0"
            ]
        );
        assert!(
            all.runs
                .iter()
                .all(|r| whole(r, r.services[0].issues.len()))
        );
        assert_eq!(
            serde_json::to_value(&all.runs[1]).unwrap(),
            serde_json::to_value(run(1, 2, 3)).unwrap(),
            "a run reads back as it was written"
        );

        let staging = s
            .runs(&RunQuery {
                app: Some("hotdash-staging".into()),
                limit: Some(2),
                ..RunQuery::default()
            })
            .await
            .unwrap();
        let ids: Vec<&str> = staging.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["20261127T100102Z-c1r2", "20261127T100101Z-c1r1"]);
        let prod = s
            .runs(&RunQuery {
                env: Some("production".into()),
                ..RunQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(prod.runs.len(), 1);
        let since = s
            .runs(&RunQuery {
                since: Some("2026-11-27T10:01:01Z".into()),
                ..RunQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(since.runs.len(), 3);

        assert_eq!(
            s.find_run("last").await.unwrap().id,
            "20261127T100209Z-c2r9"
        );
        assert_eq!(
            s.find_run("20261127T100101Z-c1r1").await.unwrap().id,
            "20261127T100101Z-c1r1"
        );
        assert_eq!(
            s.find_run("20261127T1002").await.unwrap().id,
            "20261127T100209Z-c2r9"
        );
        let e = s.find_run("20261127T1001").await.unwrap_err();
        assert!(format!("{e:#}").contains("matches 3 runs"), "{e:#}");
        let e = s.find_run("nope").await.unwrap_err();
        assert!(format!("{e:#}").contains("no run `nope`"), "{e:#}");

        // The rollback target.
        assert_eq!(s.target("web").await.unwrap(), None);
        let t = serde_json::json!({"app": "web", "image": "registry.fly.io/web:1", "version": 4});
        s.put_target("web", &t).await.unwrap();
        let t2 = serde_json::json!({"app": "web", "image": "registry.fly.io/web:2", "version": 5});
        s.put_target("web", &t2).await.unwrap();
        assert_eq!(s.target("web").await.unwrap(), Some(t2));

        // Alert state: create, conflict, update, delete, re-create with a fresh version.
        let k = key("http_5xx");
        let st = AlertState {
            level: "critical".into(),
            open: true,
            first_seen: "2026-11-27T10:00:00Z".into(),
            last_seen: "2026-11-27T10:00:00Z".into(),
            ..AlertState::default()
        };
        let Cas::Written(v1) = s.put_alert(&k, None, Some(&st)).await.unwrap() else {
            panic!("a new key is written")
        };
        match s.put_alert(&k, None, Some(&st)).await.unwrap() {
            Cas::Conflict(Some(now)) => assert_eq!((now.version, &now.value), (v1, &st)),
            other => panic!("{other:?}"),
        }
        let mut later = st.clone();
        later.last_seen = "2026-11-27T10:05:00Z".into();
        let Cas::Written(v2) = s.put_alert(&k, Some(v1), Some(&later)).await.unwrap() else {
            panic!("the current version wins")
        };
        assert!(v2 > v1);
        assert!(matches!(
            s.put_alert(&k, Some(v1), Some(&st)).await.unwrap(),
            Cas::Conflict(Some(_))
        ));
        s.put_alert(&key("latency"), None, Some(&st)).await.unwrap();
        let all = s.alerts(Some("staging")).await.unwrap();
        let rules: Vec<&str> = all.iter().map(|(k, _)| k.rule.as_str()).collect();
        assert_eq!(rules, ["http_5xx", "latency"]);
        assert_eq!(all[0].1.value, later);
        assert!(s.alerts(Some("production")).await.unwrap().is_empty());
        let Cas::Written(v3) = s.put_alert(&k, Some(v2), None).await.unwrap() else {
            panic!("delete")
        };
        assert_eq!(s.alerts(None).await.unwrap().len(), 1);
        assert_eq!(
            s.put_alert(&k, Some(v2), Some(&st)).await.unwrap(),
            Cas::Conflict(None)
        );
        let Cas::Written(v4) = s.put_alert(&k, None, Some(&st)).await.unwrap() else {
            panic!("re-create")
        };
        assert!(v4 > v3, "a version is never reused");

        // Promotions, newest first.
        s.add_promotion(&promotion("r1", "web")).await.unwrap();
        s.add_promotion(&promotion("r2", "agent")).await.unwrap();
        s.add_promotion(&promotion("r3", "web")).await.unwrap();
        let web: Vec<String> = s
            .promotions("staging", Some("web"))
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.run_id)
            .collect();
        assert_eq!(web, ["r3", "r1"]);
        assert_eq!(s.promotions("staging", None).await.unwrap().len(), 3);
        assert!(s.promotions("production", None).await.unwrap().is_empty());
    });
}

fn start_children(fx: &Fixture, mode: &str, count: usize) -> Vec<KillOnDrop> {
    let mut children: Vec<KillOnDrop> = (0..count).map(|n| KillOnDrop(fx.child(mode, n))).collect();
    // Every child open and waiting before the go file, so they all start at the same moment.
    let start = Instant::now();
    while !(0..count).all(|n| Fixture::ready_file(&fx.config, n).exists()) {
        for c in &mut children {
            assert!(
                c.0.try_wait().unwrap().is_none(),
                "a child died before the start"
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the children never got ready"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(Fixture::go_file(&fx.config), "").unwrap();
    children
}

pub(crate) fn eight_processes_append_whole_runs(backend: Backend) {
    let fx = Fixture::new(backend);
    // Open once first, so the postgres schema exists before the race (it is also safe without:
    // the migration takes a lock, which another test covers by racing on a fresh database).
    block_on(fx.open().runs(&RunQuery::default())).unwrap();
    for mut c in start_children(&fx, "append", CHILDREN) {
        assert!(c.0.wait().unwrap().success());
    }
    let list = block_on(fx.open().runs(&RunQuery::default())).unwrap();
    assert!(list.unreadable.is_empty(), "{:?}", list.unreadable);
    assert_eq!(list.runs.len(), CHILDREN * fx.rounds, "nothing lost");
    for r in &list.runs {
        assert!(whole(r, LINES), "run {} is whole and its own", r.id);
    }
    assert_all_at_once(&fx.spans(CHILDREN));
    // And the evidence log (one file in `local` and `git`) holds every entry once, whole.
    if let Some(log) = evidence_log(&fx) {
        let entries = shipit::evidence::log::entries(&log);
        assert_eq!(entries.len(), CHILDREN * fx.rounds, "one entry per run");
        assert!(entries.iter().all(|e| e.complete), "no entry interleaved");
        let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CHILDREN * fx.rounds, "no entry twice");
    }
    if let Some(pg) = &fx.pg {
        let entries = pg.psql("postgres", "SELECT count(*) FROM shipit.evidence");
        assert_eq!(entries.trim(), (CHILDREN * fx.rounds).to_string());
    }
}

/// The Markdown evidence log as the backend keeps it, where it is one file.
fn evidence_log(fx: &Fixture) -> Option<String> {
    if let Some(remote) = &fx.remote {
        return Some(git(
            remote.path(),
            &["show", "shipit-records:feedback/deployment.md"],
        ));
    }
    std::fs::read_to_string(fx.dir.path().join("feedback/deployment.md")).ok()
}

pub(crate) fn alert_cas_under_contention(backend: Backend) {
    let fx = Fixture::new(backend);
    for mut c in start_children(&fx, "cas", CHILDREN) {
        assert!(c.0.wait().unwrap().success());
    }
    let all = block_on(fx.open().alerts(None)).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0].1.value.clean_checks,
        (CHILDREN * fx.rounds * 2) as u32,
        "every increment landed exactly once"
    );
    assert_all_at_once(&fx.spans(CHILDREN));
}

/// Waits until the store holds at least `n` runs (or panics after 60 s).
fn wait_for_runs(s: &dyn Store, n: usize) {
    let start = Instant::now();
    while block_on(s.runs(&RunQuery::default())).unwrap().runs.len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no runs appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn receipts_whole_after_kill_9(backend: Backend) {
    let fx = Fixture::new(backend);
    let s = fx.open();
    block_on(s.runs(&RunQuery::default())).unwrap();
    let mut children = start_children(&fx, "forever", 2);
    wait_for_runs(s.as_ref(), 3);
    for c in &mut children {
        c.0.kill().unwrap();
        c.0.wait().unwrap();
    }
    let list = block_on(s.runs(&RunQuery::default())).unwrap();
    assert!(list.unreadable.is_empty(), "{:?}", list.unreadable);
    assert!(list.runs.len() >= 3);
    for r in &list.runs {
        assert!(whole(r, LINES * 4), "run {} is whole", r.id);
    }
    // And the store still takes writes.
    block_on(s.append_run(&run(9, 9, 1))).unwrap();
}

pub(crate) fn readers_never_see_half_a_run(backend: Backend) {
    let fx = Fixture::new(backend);
    let s = fx.open();
    block_on(s.runs(&RunQuery::default())).unwrap();
    let mut children = start_children(&fx, "append", 4);
    let mut reads = 0;
    loop {
        let done = children
            .iter_mut()
            .all(|c| c.0.try_wait().unwrap().is_some());
        let list = block_on(s.runs(&RunQuery::default())).unwrap();
        assert!(list.unreadable.is_empty(), "{:?}", list.unreadable);
        for r in &list.runs {
            assert!(whole(r, LINES), "run {} is whole when first seen", r.id);
        }
        reads += 1;
        if done {
            assert_eq!(list.runs.len(), 4 * fx.rounds);
            break;
        }
    }
    assert!(reads > 1, "the reader read while the writers wrote");
    for mut c in children {
        assert!(c.0.wait().unwrap().success());
    }
}

/// The local backend's own files: a killed writer leaves no half log entry either.
#[test]
fn local_log_entries_are_whole_after_kill_9() {
    let fx = Fixture::new(Backend::Local);
    let s = fx.open();
    let mut children = start_children(&fx, "forever", 2);
    wait_for_runs(s.as_ref(), 3);
    for c in &mut children {
        c.0.kill().unwrap();
        c.0.wait().unwrap();
    }
    let log = std::fs::read_to_string(fx.dir.path().join("feedback/deployment.md")).unwrap();
    let entries = shipit::evidence::log::entries(&log);
    assert!(entries.len() >= 3);
    assert!(entries.iter().all(|e| e.complete), "no entry was cut");
}

/// A drill run (its figures on the service record) is a run like any other: appended whole,
/// read back by kind with every figure, and left out of a query for other kinds.
pub(crate) fn drill_runs_read_back_by_kind(backend: Backend) {
    let fx = Fixture::new(backend);
    let s = fx.open();
    let mut drill = run(3, 1, 2);
    drill.kind = shipit::report::RunKind::Drill;
    let release = |v: u64| shipit::report::ReleaseRef {
        version: Some(v),
        image: format!("registry.fly.io/hotdash-staging:deployment-v{v}"),
    };
    let figures = shipit::drill::DrillRecord {
        original: release(3),
        rolled_back_to: release(2),
        detect_ms: 0,
        rollback_ms: Some(1_210),
        rollback_healthy_ms: Some(1_530),
        restore_ms: None,
        rollback_healthy: true,
        restore_healthy: Some(false),
        finish_by_hand: vec!["shipit deploy staging --app web --image x".into()],
    };
    drill.services[0].drill = Some(figures.clone());
    block_on(async {
        s.append_run(&run(3, 0, 2)).await.unwrap();
        s.append_run(&drill).await.unwrap();
        let q = RunQuery {
            kinds: vec![shipit::report::RunKind::Drill],
            ..RunQuery::default()
        };
        let list = s.runs(&q).await.unwrap();
        assert_eq!(list.runs.len(), 1, "{:?}", list.unreadable);
        assert_eq!(list.runs[0].id, drill.id);
        assert_eq!(list.runs[0].services[0].drill.as_ref(), Some(&figures));
        let rows = shipit::drill::trend(&list.runs);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].rollback_healthy_ms, Some(1_530));
        assert!(!rows[0].healthy);
        let q = RunQuery {
            kinds: vec![shipit::report::RunKind::Rollback],
            ..RunQuery::default()
        };
        let others = s.runs(&q).await.unwrap();
        assert!(others.runs.iter().all(|r| r.services[0].drill.is_none()));
    });
}

macro_rules! suite {
    ($name:ident, $backend:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn drill_runs_read_back_by_kind() {
                super::drill_runs_read_back_by_kind($backend);
            }

            #[test]
            fn append_and_read_back() {
                super::append_and_read_back($backend);
            }

            #[test]
            fn eight_processes_append_whole_runs() {
                super::eight_processes_append_whole_runs($backend);
            }

            #[test]
            fn alert_cas_under_contention() {
                super::alert_cas_under_contention($backend);
            }

            #[test]
            fn receipts_whole_after_kill_9() {
                super::receipts_whole_after_kill_9($backend);
            }

            #[test]
            fn readers_never_see_half_a_run() {
                super::readers_never_see_half_a_run($backend);
            }
        }
    };
}

suite!(local, Backend::Local);
suite!(git, Backend::Git);
suite!(postgres, Backend::Postgres);

/// A child that is killed when the test ends, also when it fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn postgres_deploy_lock_names_its_holder_and_dies_with_it() {
    let fx = Fixture::new(Backend::Postgres);
    let s = fx.open();
    block_on(s.runs(&RunQuery::default())).unwrap();
    let mut child = KillOnDrop(fx.child("lock", 1));
    std::fs::write(Fixture::go_file(&fx.config), "").unwrap();
    let held = fx.config.with_file_name("held-1");
    let start = Instant::now();
    while !held.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the child never took the lock"
        );
        assert!(child.0.try_wait().unwrap().is_none(), "the child died");
        std::thread::sleep(Duration::from_millis(10));
    }
    block_on(async {
        match s.lock("web", &holder(2), None).await.unwrap() {
            store::Locked::Busy(Some(h)) => {
                assert_eq!(
                    (h.host.as_str(), h.run_id.as_str()),
                    ("runner-1", "20261127T100000Z-lock1")
                );
                assert_eq!(h.pid, child.0.id(), "the holder's own pid");
            }
            store::Locked::Busy(None) => panic!("the holder is named"),
            _ => panic!("the lock is busy while the child holds it"),
        }
        // Another app's lock is independent.
        assert!(matches!(
            s.lock("worker", &holder(2), None).await.unwrap(),
            store::Locked::Held(_)
        ));
        // A short wait is not enough while the holder lives.
        let t = Instant::now();
        assert!(matches!(
            s.lock("web", &holder(2), Some(Duration::from_millis(600)))
                .await
                .unwrap(),
            store::Locked::Busy(_)
        ));
        assert!(t.elapsed() >= Duration::from_millis(600), "it waited");
    });
    // kill -9: the connection dies, and the server lets go of the lock with it.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    block_on(async {
        let got = s
            .lock("web", &holder(2), Some(Duration::from_secs(30)))
            .await
            .unwrap();
        assert!(
            matches!(got, store::Locked::Held(_)),
            "the dead runner's lock died with it"
        );
        // Held by this process now: a third party is refused, naming us.
        let third = fx.open();
        match third.lock("web", &holder(3), None).await.unwrap() {
            store::Locked::Busy(Some(h)) => assert_eq!(h.host, "runner-2"),
            _ => panic!("busy"),
        }
        drop(got);
        // Released on drop (the connection closes); give the server a moment to notice.
        assert!(matches!(
            third
                .lock("web", &holder(3), Some(Duration::from_secs(30)))
                .await
                .unwrap(),
            store::Locked::Held(_)
        ));
    });
}

#[test]
fn postgres_refuses_a_newer_schema_and_never_shows_the_password() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shipit.yml");
    std::fs::write(
        &config,
        format!(
            "version: 1\nstore: {{ postgres: {{ url: \"{}\" }} }}\n",
            pg.url("postgres")
        ),
    )
    .unwrap();
    let s = store::open_for_reading(&config).unwrap();
    assert!(!s.describe().contains(crate::support::postgres::PASSWORD));
    assert!(
        s.describe().starts_with("postgres (127.0.0.1:"),
        "{}",
        s.describe()
    );
    block_on(s.runs(&RunQuery::default())).unwrap();
    let tables = pg.psql(
        "postgres",
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'shipit'",
    );
    assert_eq!(
        tables.trim(),
        "alerts,evidence,locks,meta,promotions,runs,targets"
    );
    pg.psql(
        "postgres",
        "UPDATE shipit.meta SET value = '99' WHERE key = 'schema_version'",
    );
    let fresh = store::open_for_reading(&config).unwrap();
    let e = format!(
        "{:#}",
        block_on(fresh.runs(&RunQuery::default())).unwrap_err()
    );
    assert!(e.contains("schema version 99"), "{e}");
    assert!(e.contains("upgrade shipit"), "{e}");
    // A server that is gone: the error names the store, never the password.
    pg.stop();
    let gone = store::open_for_reading(&config).unwrap();
    let e = format!(
        "{:#}",
        block_on(gone.runs(&RunQuery::default())).unwrap_err()
    );
    assert!(
        e.contains("cannot connect to the record at 127.0.0.1:"),
        "{e}"
    );
    assert!(!e.contains(crate::support::postgres::PASSWORD), "{e}");
}

/// What a user sees of their checkout: HEAD, branch, status, the index, their refs.
fn checkout_state(dir: &Path) -> (String, String, String, Vec<u8>, String) {
    (
        git(dir, &["rev-parse", "HEAD"]),
        git(dir, &["symbolic-ref", "HEAD"]),
        git(dir, &["status", "--porcelain", "--untracked-files=all"]),
        std::fs::read(dir.join(".git/index")).unwrap(),
        git(
            dir,
            &[
                "for-each-ref",
                "--format=%(refname) %(objectname)",
                "refs/heads",
                "refs/remotes",
                "refs/tags",
            ],
        ),
    )
}

#[test]
fn git_two_clones_record_at_once_and_see_each_other_without_touching_the_checkout() {
    let a = Fixture::new(Backend::Git);
    let b_dir = tempfile::tempdir().unwrap();
    clone_into(a.remote.as_ref().unwrap().path(), b_dir.path());
    let b_config = b_dir.path().join("shipit.yml");
    std::fs::copy(&a.config, &b_config).unwrap();
    // The config files are untracked changes of the user's; they must stay exactly so.
    let before_a = checkout_state(a.dir.path());
    let before_b = checkout_state(b_dir.path());
    let writers: Vec<_> = [(a.config.clone(), 1), (b_config.clone(), 2)]
        .into_iter()
        .map(|(config, n)| {
            std::thread::spawn(move || {
                let s = store::open_for_reading(&config).unwrap();
                block_on(s.append_run(&run(n, 0, 3))).unwrap();
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(
        checkout_state(a.dir.path()),
        before_a,
        "clone A's checkout is untouched"
    );
    assert_eq!(
        checkout_state(b_dir.path()),
        before_b,
        "clone B's checkout is untouched"
    );
    // Both landed, and `shipit history` in B lists A's run (it fetches first).
    let out = Command::new(crate::support::shipit_bin())
        .args(["history", "--json"])
        .current_dir(b_dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["20261127T100200Z-c2r0", "20261127T100100Z-c1r0"]);
    // The branch holds the receipts and one log with both entries, and never became the
    // checkout's branch.
    let remote = a.remote.as_ref().unwrap().path();
    let files = git(remote, &["ls-tree", "-r", "--name-only", "shipit-records"]);
    assert!(files.contains("runs/20261127T100100Z-c1r0.json"), "{files}");
    assert!(files.contains("feedback/deployment.md"), "{files}");
    let log = git(remote, &["show", "shipit-records:feedback/deployment.md"]);
    assert_eq!(shipit::evidence::log::entries(&log).len(), 2);
    assert_eq!(
        git(a.dir.path(), &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
}

#[test]
fn git_store_with_its_remote_gone_fails_naming_the_store() {
    let fx = Fixture::new(Backend::Git);
    git(
        fx.dir.path(),
        &["remote", "set-url", "origin", "/nonexistent/remote.git"],
    );
    let s = fx.open();
    let e = format!("{:#}", block_on(s.runs(&RunQuery::default())).unwrap_err());
    assert!(e.contains("git (branch shipit-records of origin)"), "{e}");
    let e = format!("{:#}", block_on(s.append_run(&run(1, 1, 1))).unwrap_err());
    assert!(e.contains("cannot fetch branch shipit-records"), "{e}");
}

/// A project whose staging/web deploys to a fleet that fails every image but the live one, with
/// `store` as its record.
fn failing_deploy_project(
    store: &str,
) -> (crate::support::Project, crate::support::fleet::FleetServer) {
    use crate::support::fleet::FleetServer;
    use crate::support::server::Behaviour;
    use crate::support::{Project, fly_app};
    const APP: &str = "hotdash-staging";
    const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
    let p = Project::new();
    p.fly_state(&serde_json::json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}, "deploys": []}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, image| {
        if image == GOOD {
            Behaviour::ok("{\"ok\":true}")
        } else {
            Behaviour::status(500)
        }
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\nstore: {store}\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 3, unhealthy_after: 3, deadline: 3s }}\n  regression: {{ probes: 3 }}\n  deploy_timeout: 30s\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n",
        fleet.url()
    ));
    (p, fleet)
}

/// A rolled-back deploy recorded in postgres: the run, its evidence entry and the rollback
/// target are in the tables, and `history` / `explain` read them back.
#[test]
fn a_deploy_records_its_run_and_rollback_target_in_postgres() {
    let pg = Postgres::start();
    let (p, _fleet) = failing_deploy_project(&format!(
        "{{ postgres: {{ url: \"{}\" }} }}",
        pg.url("postgres")
    ));
    let run = p.run(&[
        "deploy",
        "staging",
        "--image",
        "registry.fly.io/hotdash-staging:new",
    ]);
    run.code(3).stderr_has("evidence: postgres (127.0.0.1:");
    assert!(!run.stderr.contains(crate::support::postgres::PASSWORD));
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM shipit.runs")
            .trim(),
        "1"
    );
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM shipit.evidence")
            .trim(),
        "1"
    );
    let target = pg.psql(
        "postgres",
        "SELECT target FROM shipit.targets WHERE app = 'hotdash-staging'",
    );
    assert!(target.contains("deployment-v3"), "{target}");
    let h = p.run(&["history", "--json"]);
    h.code(0);
    assert_eq!(h.json()["runs"].as_array().unwrap().len(), 1);
    p.run(&["explain", "last"]).code(0).stdout_has("rolled");
}

/// A deploy whose record cannot be reached (postgres refusing connections) still deploys, still
/// rolls back, ends in exit 3, keeps its receipt locally and says so in its last lines.
#[test]
fn a_deploy_with_its_store_down_still_rolls_back_and_says_the_record_was_not_updated() {
    // A port nothing listens on: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (p, _fleet) = failing_deploy_project(&format!(
        "{{ postgres: {{ url: \"postgres://shipit:store-pw-never-shown@127.0.0.1:{port}/postgres?sslmode=disable\" }} }}"
    ));
    let run = p.run(&[
        "deploy",
        "staging",
        "--image",
        "registry.fly.io/hotdash-staging:new",
    ]);
    run.code(3)
        .stderr_has("the record (postgres (127.0.0.1:")
        .stderr_has("was not updated; the receipt is kept locally in .shipit/runs/");
    assert!(
        !run.stderr.contains("store-pw-never-shown"),
        "{}",
        run.stderr
    );
    let receipts: Vec<_> = std::fs::read_dir(p.file(".shipit/runs")).unwrap().collect();
    assert_eq!(receipts.len(), 1, "the local copy");
    // The last line says it.
    let last = run
        .stderr
        .trim_end()
        .lines()
        .rev()
        .find(|l| !l.trim_start().starts_with("hint"))
        .unwrap();
    assert!(last.contains("was not updated"), "{}", run.stderr);
    // Reading the record fails, naming the store.
    p.run(&["history"])
        .code(1)
        .stderr_has("postgres (127.0.0.1:");
}

/// A drill recorded in postgres: the drill run and the original release as the rollback target
/// are in the tables, and `history --drills` reads the drill back from there.
#[test]
fn a_drill_records_its_run_and_rollback_target_in_postgres() {
    let pg = Postgres::start();
    let (p, _fleet) = failing_deploy_project(&format!(
        "{{ postgres: {{ url: \"{}\" }} }}",
        pg.url("postgres")
    ));
    // The only environment counts as production; the fleet fails v2's image, so the way back
    // fails its gate.
    p.run(&["drill", "staging"])
        .code(1)
        .stderr_has("the only environment");
    let run = p.run(&["drill", "staging", "--allow-production"]);
    run.code(4).stderr_has("evidence: postgres (127.0.0.1:");
    assert!(!run.stderr.contains(crate::support::postgres::PASSWORD));
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM shipit.runs WHERE kind = 'drill'"
        )
        .trim(),
        "1"
    );
    let target = pg.psql(
        "postgres",
        "SELECT target FROM shipit.targets WHERE app = 'hotdash-staging'",
    );
    assert!(target.contains("deployment-v3"), "{target}");
    let trend = p.run(&["history", "--drills", "--json"]).json();
    let rows = trend["drills"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{trend}");
    assert_eq!(rows[0]["rollback_healthy"], false);
}

/// `sslmode=require` against a server with a self-signed certificate that takes TCP clients over
/// TLS only: the record works, and the server's own `pg_stat_ssl` shows the connection
/// encrypted. `sslmode=disable` against it is refused with an error that says why and what to
/// write instead, without the password.
#[test]
fn postgres_record_over_tls_with_sslmode_require_and_plain_refused() {
    let pg = Postgres::start_tls();
    let require = pg
        .url("postgres")
        .replace("sslmode=disable", "sslmode=require");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shipit.yml");
    std::fs::write(
        &config,
        "version: 1\nstore: { postgres: { url: \"${SHIPIT_STORE_URL}\" } }\n",
    )
    .unwrap();
    let shipit = |url: &str, args: &[&str]| {
        Command::new(crate::support::shipit_bin())
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("SHIPIT_STORE_URL", url)
            .output()
            .unwrap()
    };

    // In-process, so the connection is still open when the server is asked about it.
    let s = store::postgres::PostgresStore::new(&require).unwrap();
    let tls = block_on(async {
        s.append_run(&run(1, 0, 3)).await.unwrap();
        pg.tls_connections()
    });
    assert_eq!(tls.len(), 1, "one client connection, over TLS: {tls:?}");
    assert!(tls[0].starts_with("TLSv1."), "{tls:?}");

    let out = shipit(&require, &["history", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["runs"][0]["id"], "20261127T100100Z-c1r0");

    let plain = pg.url("postgres");
    let out = shipit(&plain, &["history"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to the record at 127.0.0.1:"),
        "{err}"
    );
    assert!(
        err.contains("no encryption") && err.contains("accepts this client only over TLS"),
        "{err}"
    );
    assert!(
        err.contains("hint: set sslmode=require in the URL"),
        "{err}"
    );
    assert!(!err.contains(crate::support::postgres::PASSWORD), "{err}");
    drop(s);
}
