//! Notifications: every channel's payload against a snapshot, Slack/Discord limits, the
//! PagerDuty mapping, and real POSTs to a recorder on 127.0.0.1 through `shipit notify test`
//! (signature checked independently with python3), plus the time cap of `send_all`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shipit::config::{Channel, ChannelKind, Text};
use shipit::event::Event;
use shipit::exit::Outcome;
use shipit::notify::{self, Message, discord, pagerduty, slack, teams, webhook};
use shipit::report::{
    GateRecord, ReleaseRef, RunKind, RunRecord, ServiceRecord, ServiceResult, StepRecord, Verdict,
};

use crate::support::Project;

// ---------------------------------------------------------------------------------------------
// Fixtures

fn release(v: u64, tag: &str) -> ReleaseRef {
    ReleaseRef {
        version: Some(v),
        image: format!("registry.fly.io/hotdash-staging:deployment-{tag}"),
    }
}

fn gate(name: &str, rule: &str, observed: &str, verdict: Verdict) -> GateRecord {
    GateRecord {
        name: name.into(),
        rule: rule.into(),
        observed: observed.into(),
        verdict,
        details: Vec::new(),
    }
}

fn step(name: &str, at: &str, ms: u64, ok: bool) -> StepRecord {
    StepRecord {
        name: name.into(),
        started_at: at.into(),
        duration_ms: ms,
        ok,
        detail: String::new(),
    }
}

/// A deploy of staging/web whose health gate failed and which was rolled back to v41.
pub(crate) fn rolled_back() -> RunRecord {
    let mut web = ServiceRecord::new(
        "staging",
        "web",
        "hotdash-staging",
        "https://hotdash-staging.fly.dev",
    );
    web.result = ServiceResult::RolledBack;
    web.from = Some(release(41, "01JD0AAAA"));
    web.to = Some(release(42, "01JD0BBBB"));
    web.live = Some(release(41, "01JD0AAAA"));
    let mut health = gate(
        "health",
        "[STATUS] == 200, 3 passes in a row within 5m",
        "[STATUS] (503) == 200, 3 failures in a row",
        Verdict::Fail,
    );
    health.details = vec![
        "probe 1: 503 in 112ms".into(),
        "probe 2: 503 in 98ms".into(),
        "probe 3: 503 in 101ms".into(),
    ];
    web.gates = vec![
        gate(
            "fleet",
            "every started machine runs the new image",
            "2/2 machines on deployment-01JD0BBBB",
            Verdict::Pass,
        ),
        health,
        gate(
            "regression",
            "p95 <= 1.5 × baseline + 100ms",
            "not reached",
            Verdict::Skipped,
        ),
        gate(
            "rollback health",
            "[STATUS] == 200, 3 passes in a row within 5m",
            "3/3 passed, p95 140ms",
            Verdict::Pass,
        ),
    ];
    web.steps = vec![
        step("preflight", "2026-11-27T10:21:17Z", 1_200, true),
        step("baseline", "2026-11-27T10:21:18Z", 4_100, true),
        step("deploy", "2026-11-27T10:21:22Z", 71_000, true),
        step("health gate", "2026-11-27T10:22:33Z", 8_000, false),
        step("rollback", "2026-11-27T10:22:41Z", 39_000, true),
    ];
    web.flyctl = vec![
        vec![
            "flyctl".into(),
            "deploy".into(),
            "--app".into(),
            "hotdash-staging".into(),
            "--remote-only".into(),
            "--yes".into(),
        ],
        vec![
            "flyctl".into(),
            "deploy".into(),
            "--app".into(),
            "hotdash-staging".into(),
            "--image".into(),
            "registry.fly.io/hotdash-staging:deployment-01JD0AAAA".into(),
        ],
    ];
    web.decision = Some("roll back".into());
    web.reason = Some("health gate failed: [STATUS] (503) == 200 on 3 probes in a row".into());
    web.issues = vec!["health gate: [STATUS] (503) == 200 on 3 probes in a row".into()];
    web.actions = vec![
        "deployed v42 (flyctl deploy)".into(),
        "rolled back to v41 (flyctl deploy --image registry.fly.io/hotdash-staging:deployment-01JD0AAAA)".into(),
        "v41 healthy again: 3/3 probes passed".into(),
    ];
    RunRecord {
        id: "20261127T102117Z-1a2b3c4".into(),
        kind: RunKind::Deploy,
        env: Some("staging".into()),
        started_at: "2026-11-27T10:21:17Z".into(),
        finished_at: "2026-11-27T10:23:20Z".into(),
        duration_ms: 123_000,
        outcome: Outcome::RolledBack,
        event: Event::RolledBack,
        services: vec![web],
        summary: "staging/web: v42 failed its health gate and was rolled back to v41".into(),
        run_url: Some("https://github.com/acme/hotdash/actions/runs/123456".into()),
        sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
        actor: Some("octocat".into()),
    }
}

/// A deploy of both staging services that passed every gate.
pub(crate) fn succeeded() -> RunRecord {
    let mut services = Vec::new();
    for (name, app, from, to) in [
        ("web", "hotdash-staging", 41, 42),
        ("agent", "hotdash-agent-service", 7, 8),
    ] {
        let mut s = ServiceRecord::new("staging", name, app, &format!("https://{app}.fly.dev"));
        s.result = ServiceResult::Succeeded;
        s.from = Some(ReleaseRef {
            version: Some(from),
            image: format!("registry.fly.io/{app}:deployment-{from}"),
        });
        s.to = Some(ReleaseRef {
            version: Some(to),
            image: format!("registry.fly.io/{app}:deployment-{to}"),
        });
        s.live = s.to.clone();
        s.gates = vec![
            gate("health", "[STATUS] == 200", "3/3 passed", Verdict::Pass),
            gate(
                "regression",
                "p95 <= 1.5 × baseline + 100ms",
                "p95 180ms vs 170ms",
                Verdict::Pass,
            ),
            gate("smoke", "4 checks pass", "4/4 passed", Verdict::Pass),
        ];
        s.decision = Some("healthy: go on".into());
        s.actions = vec![format!("deployed v{to} (flyctl deploy)")];
        services.push(s);
    }
    RunRecord {
        id: "20261127T110000Z-5d6e7f8".into(),
        kind: RunKind::Deploy,
        env: Some("staging".into()),
        started_at: "2026-11-27T11:00:00Z".into(),
        finished_at: "2026-11-27T11:03:05Z".into(),
        duration_ms: 185_000,
        outcome: Outcome::Success,
        event: Event::Succeeded,
        services,
        summary: "staging: web v42 and agent v8 are live and healthy".into(),
        run_url: None,
        sha: None,
        actor: None,
    }
}

/// A production deploy whose way back failed too.
pub(crate) fn rollback_failed() -> RunRecord {
    let mut r = rolled_back();
    r.id = "20261127T120000Z-9a9b9c9".into();
    r.started_at = "2026-11-27T12:00:00Z".into();
    r.finished_at = "2026-11-27T12:04:10Z".into();
    r.duration_ms = 250_000;
    r.env = Some("production".into());
    r.outcome = Outcome::NeedsHuman;
    r.event = Event::RollbackFailed;
    let s = &mut r.services[0];
    s.env = "production".into();
    s.app = "hotdash-production".into();
    s.result = ServiceResult::RollbackFailed;
    s.live = None;
    s.gates[3] = gate(
        "rollback health",
        "[STATUS] == 200, 3 passes in a row within 5m",
        "[STATUS] (502) == 200, 3 failures in a row",
        Verdict::Fail,
    );
    s.actions.truncate(2);
    s.actions
        .push("v41 is not healthy either: a human must act".into());
    r.summary =
        "production/web: v42 failed and v41 did not come back healthy: a human must act now".into();
    r
}

// ---------------------------------------------------------------------------------------------
// Snapshots

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots/notify")
        .join(format!("{name}.json"))
}

/// Compares `actual` with `tests/it/snapshots/notify/NAME.json`; `UPDATE_SNAPSHOTS=1` rewrites it.
fn assert_snapshot(name: &str, actual: &Value) {
    let path = snapshot_path(name);
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run with UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(
        &expected, actual,
        "payload {name} differs from its snapshot (UPDATE_SNAPSHOTS=1 to accept):\n{text}"
    );
}

fn pd(msg: &Message<'_>) -> Value {
    serde_json::to_value(pagerduty::requests(msg)).unwrap()
}

#[test]
fn every_channel_payload_matches_its_snapshot() {
    let cases = [
        ("rolled_back", rolled_back()),
        ("succeeded", succeeded()),
        ("rollback_failed", rollback_failed()),
    ];
    for (name, record) in &cases {
        let msg = Message::new(record, record.event);
        assert_snapshot(&format!("slack_{name}"), &slack::payload(&msg));
        assert_snapshot(&format!("discord_{name}"), &discord::payload(&msg));
        assert_snapshot(&format!("teams_{name}"), &teams::payload(&msg));
        assert_snapshot(&format!("pagerduty_{name}"), &pd(&msg));
        assert_snapshot(&format!("webhook_{name}"), &webhook::payload(&msg));
    }
    let record = succeeded();
    let started = Message::new(&record, Event::Started);
    assert_snapshot("slack_started", &slack::payload(&started));
    let test = Message::test(&record);
    assert_snapshot("slack_test", &slack::payload(&test));
    assert_snapshot("pagerduty_test", &pd(&test));
    assert_snapshot("webhook_test", &webhook::payload(&test));
}

// ---------------------------------------------------------------------------------------------
// Limits

fn huge() -> RunRecord {
    let mut r = rolled_back();
    let template = r.services[0].clone();
    r.services = (0..60)
        .map(|i| {
            let mut s = template.clone();
            s.service = format!("svc{i}");
            s.app = format!("hotdash-{i}-{}", "x".repeat(300));
            s.reason = Some("why ".repeat(2000));
            s.gates[1].observed = "503 ".repeat(1500);
            s
        })
        .collect();
    r.summary = "summary ".repeat(1000);
    r
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

#[test]
fn slack_messages_stay_inside_block_kit_limits() {
    let r = huge();
    let p = slack::payload(&Message::new(&r, Event::RolledBack));
    let blocks = p["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    assert!(chars(&blocks[0]["text"]["text"]) <= 150);
    for b in blocks {
        if b["type"] == "section" {
            if let Some(t) = b.get("text") {
                assert!(chars(&t["text"]) <= 3000);
            }
            if let Some(fields) = b.get("fields").and_then(Value::as_array) {
                assert!(fields.len() <= 10);
                assert!(fields.iter().all(|f| chars(&f["text"]) <= 2000));
            }
        }
    }
    assert!(chars(&p["text"]) <= 3000);
    let last_section = blocks
        .iter()
        .rev()
        .find(|b| b["type"] == "section")
        .unwrap();
    assert!(
        last_section["text"]["text"]
            .as_str()
            .unwrap()
            .contains("more services"),
        "the cut is said: {last_section}"
    );
}

#[test]
fn discord_embeds_stay_inside_their_limits() {
    let r = huge();
    let p = discord::payload(&Message::new(&r, Event::RolledBack));
    let embed = &p["embeds"][0];
    let fields = embed["fields"].as_array().unwrap();
    assert!(fields.len() <= 25);
    let mut total =
        chars(&embed["title"]) + chars(&embed["description"]) + chars(&embed["footer"]["text"]);
    for f in fields {
        assert!(chars(&f["name"]) <= 256 && chars(&f["value"]) <= 1024);
        total += chars(&f["name"]) + chars(&f["value"]);
    }
    assert!(total <= 6000, "{total} characters in the embed");
    assert!(chars(&embed["title"]) <= 256 && chars(&embed["description"]) <= 4096);
    assert_eq!(p["allowed_mentions"], json!({"parse": []}));
}

// ---------------------------------------------------------------------------------------------
// PagerDuty mapping

fn actions(record: &RunRecord, event: Event) -> Vec<(String, String)> {
    pagerduty::requests(&Message::new(record, event))
        .into_iter()
        .map(|r| {
            let what = r.body["event_action"]
                .as_str()
                .map_or_else(|| "change".to_owned(), str::to_owned);
            let key = r.body["dedup_key"].as_str().unwrap_or_default().to_owned();
            (what, key)
        })
        .collect()
}

#[test]
fn pagerduty_triggers_resolves_and_records_changes_with_a_stable_key() {
    let key = "shipit:hotdash-production:production".to_owned();
    assert_eq!(
        actions(&rollback_failed(), Event::RollbackFailed),
        vec![("trigger".into(), key.clone())]
    );
    let body =
        &pagerduty::requests(&Message::new(&rollback_failed(), Event::RollbackFailed))[0].body;
    assert_eq!(body["payload"]["severity"], "critical");

    let mut failed = rollback_failed();
    failed.services[0].result = ServiceResult::Unhealthy;
    assert_eq!(
        actions(&failed, Event::Failed),
        vec![("trigger".into(), key.clone())]
    );
    assert_eq!(
        actions(&failed, Event::Cancelled),
        vec![("trigger".into(), key.clone())]
    );
    assert_eq!(
        actions(&failed, Event::Alert),
        vec![("trigger".into(), key.clone())]
    );
    assert_eq!(
        actions(&failed, Event::Resolved),
        vec![("resolve".into(), key)]
    );

    // A rollback that worked is a change, not a page.
    assert_eq!(
        actions(&rolled_back(), Event::RolledBack),
        vec![("change".into(), String::new())]
    );
    // A good deploy resolves each service's alert and records each change.
    assert_eq!(
        actions(&succeeded(), Event::Succeeded),
        vec![
            ("resolve".into(), "shipit:hotdash-staging:staging".into()),
            (
                "resolve".into(),
                "shipit:hotdash-agent-service:staging".into()
            ),
            ("change".into(), String::new()),
            ("change".into(), String::new()),
        ]
    );
    assert!(
        actions(&succeeded(), Event::Started).is_empty(),
        "nothing is said at the start"
    );
    // A health check that passes closes what an earlier alert opened, but changed nothing.
    let mut check = succeeded();
    check.kind = RunKind::Health;
    assert_eq!(
        actions(&check, Event::Succeeded),
        vec![
            ("resolve".into(), "shipit:hotdash-staging:staging".into()),
            (
                "resolve".into(),
                "shipit:hotdash-agent-service:staging".into()
            ),
        ]
    );
    // One service unhealthy, one fine: page about the one, close the other's alert.
    check.services[0].result = ServiceResult::Unhealthy;
    assert_eq!(
        actions(&check, Event::Alert),
        vec![
            ("trigger".into(), "shipit:hotdash-staging:staging".into()),
            (
                "resolve".into(),
                "shipit:hotdash-agent-service:staging".into()
            ),
        ]
    );
    // A requested rollback that worked: the service is healthy on the release asked for.
    let mut manual = succeeded();
    manual.kind = RunKind::Rollback;
    manual.services.truncate(1);
    let reqs = pagerduty::requests(&Message::new(&manual, Event::RolledBack));
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body["event_action"], "resolve");
    assert_eq!(
        reqs[1].body["payload"]["summary"],
        "Rolled back hotdash-staging (staging) to v42"
    );
}

#[test]
fn bodies_are_redacted_but_the_routing_key_is_sent() {
    shipit::secret::register("sekrit-in-a-reason-0042");
    shipit::secret::register("pd-routing-key-0123456789abcdef");
    let mut r = rollback_failed();
    r.services[0].reason = Some("token sekrit-in-a-reason-0042 was refused".into());
    let channel = Channel {
        kind: ChannelKind::PagerDuty {
            routing_key: Text::literal("pd-routing-key-0123456789abcdef"),
            events_url: Text::literal("http://127.0.0.1:9/v2/enqueue"),
            change_url: Text::literal("http://127.0.0.1:9/v2/change/enqueue"),
        },
        on: Event::ALL.to_vec(),
    };
    let out = notify::requests_for(
        &channel,
        &Message::new(&r, Event::RollbackFailed),
        "msg_x",
        1,
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&out[0].body).unwrap();
    let text = body.to_string();
    assert!(
        !text.contains("sekrit-in-a-reason-0042") && text.contains("token *** was refused"),
        "{text}"
    );
    assert_eq!(body["routing_key"], "pd-routing-key-0123456789abcdef");
}

// ---------------------------------------------------------------------------------------------
// A recorder on 127.0.0.1

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} sent invalid JSON: {e}", self.path))
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Reply {
    Status(u16),
    /// Reads the request and never answers.
    Hang,
}

/// A tiny HTTP/1.1 server that records every request and answers per path.
pub(crate) struct Recorder {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    pub(crate) fn start(route: fn(&str) -> Reply) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let rec = rec.clone();
                std::thread::spawn(move || serve(stream, &rec, route));
            }
        });
        Recorder { addr, received }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn on(&self, prefix: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}

fn serve(stream: TcpStream, rec: &Mutex<Vec<Received>>, route: fn(&str) -> Reply) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        rec.lock().unwrap().push(Received {
            path: path.clone(),
            headers,
            body,
        });
        match route(&path) {
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
            Reply::Status(code) => {
                let text = if code < 300 { "ok" } else { "invalid_payload" };
                let resp = format!(
                    "HTTP/1.1 {code} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{text}",
                    text.len()
                );
                if out.write_all(resp.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `shipit notify test` against the recorder

const SLACK_TOKEN: &str = "T0SLACK/B0SLACK/slacktokensecret0001";
const DISCORD_TOKEN: &str = "1234/discordtokensecret0002";
const TEAMS_SIG: &str = "teamssigsecret0003";
const ROUTING_KEY: &str = "pdroutingkey0123456789abcdef0004";
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn channels_config() -> &'static str {
    "version: 1\napps: { web: {} }\nenvironments:\n  staging:\n    web: { app: hotdash-staging, url: https://hotdash-staging.fly.dev }\n\
notify:\n\
  - slack: { webhook_url: \"${SLACK_URL}\", on: [failure, rollback] }\n\
  - discord: { webhook_url: \"${DISCORD_URL}\" }\n\
  - teams: { webhook_url: \"${TEAMS_URL}\", on: [success] }\n\
  - pagerduty: { routing_key: \"${PD_KEY}\", events_url: \"${PD_EVENTS}\", change_url: \"${PD_CHANGE}\" }\n\
  - webhook: { url: \"${HOOK_URL}\", secret: \"${HOOK_SECRET}\" }\n"
}

fn notify_test(project: &Project, rec: &Recorder, json: bool) -> crate::support::Run {
    let mut cmd = project.shipit(if json {
        &["notify", "test", "--json"]
    } else {
        &["notify", "test"]
    });
    cmd.env(
        "SLACK_URL",
        rec.url(&format!("/slack/services/{SLACK_TOKEN}")),
    )
    .env(
        "DISCORD_URL",
        rec.url(&format!("/discord/api/webhooks/{DISCORD_TOKEN}")),
    )
    .env(
        "TEAMS_URL",
        rec.url(&format!("/teams/workflows/run?sig={TEAMS_SIG}")),
    )
    .env("PD_KEY", ROUTING_KEY)
    .env("PD_EVENTS", rec.url("/pd/v2/enqueue"))
    .env("PD_CHANGE", rec.url("/pd/v2/change/enqueue"))
    .env("HOOK_URL", rec.url("/hook/deploys"))
    .env("HOOK_SECRET", WEBHOOK_SECRET);
    crate::support::Run::from(cmd.output().unwrap())
}

fn assert_no_secrets(text: &str) {
    for s in [
        "slacktokensecret0001",
        "discordtokensecret0002",
        TEAMS_SIG,
        ROUTING_KEY,
        WEBHOOK_SECRET,
        "/slack/services",
        "/hook/deploys",
    ] {
        assert!(!text.contains(s), "output leaks {s:?}:\n{text}");
    }
}

/// Checks a Standard Webhooks signature with Python's own HMAC, independently of shipit's code.
fn python_signature(secret: &str, id: &str, ts: &str, body: &[u8]) -> String {
    let script = "import base64,hashlib,hmac,sys\n\
secret, mid, ts = sys.argv[1], sys.argv[2], sys.argv[3]\n\
key = base64.b64decode(secret[len('whsec_'):]) if secret.startswith('whsec_') else secret.encode()\n\
body = sys.stdin.buffer.read()\n\
mac = hmac.new(key, mid.encode() + b'.' + ts.encode() + b'.' + body, hashlib.sha256).digest()\n\
print('v1,' + base64.b64encode(mac).decode())\n";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret, id, ts])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn notify_test_posts_to_every_channel_and_signs_the_webhook() {
    let rec = Recorder::start(|path| {
        if path.starts_with("/discord") {
            Reply::Status(204)
        } else if path.starts_with("/pd") || path.starts_with("/teams") {
            Reply::Status(202)
        } else {
            Reply::Status(200)
        }
    });
    let project = Project::new();
    project.config(channels_config());
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let run = notify_test(&project, &rec, false);
    run.code(0).stderr_has("5 of 5 channels delivered");
    let port = rec.addr.port();
    for kind in ["slack", "discord", "teams", "pagerduty", "webhook"] {
        run.stdout_has(&format!("{kind} (127.0.0.1:{port})"));
    }
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        5,
        "{}",
        run.stdout
    );
    assert_no_secrets(&run.stdout);
    assert_no_secrets(&run.stderr);

    let slack = rec.on("/slack");
    assert_eq!(slack.len(), 1, "test messages ignore `on:` filters");
    assert_eq!(slack[0].path, format!("/slack/services/{SLACK_TOKEN}"));
    assert_eq!(slack[0].headers["content-type"], "application/json");
    let s = slack[0].json();
    assert!(
        s["text"]
            .as_str()
            .unwrap()
            .contains("Test message from shipit")
    );
    assert_eq!(s["blocks"][0]["type"], "header");

    let d = rec.on("/discord")[0].json();
    assert_eq!(d["embeds"][0]["color"], 3_447_003);
    let t = rec.on("/teams")[0].json();
    assert_eq!(t["type"], "message");
    assert_eq!(t["attachments"][0]["content"]["version"], "1.4");

    // PagerDuty: a test is a change event, which never pages; the routing key is sent.
    assert!(rec.on("/pd/v2/enqueue").is_empty());
    let change = rec.on("/pd/v2/change/enqueue")[0].json();
    assert_eq!(change["routing_key"], ROUTING_KEY);
    assert_eq!(change["payload"]["custom_details"]["test"], true);

    let hook = &rec.on("/hook")[0];
    let body = hook.json();
    assert_eq!(body["type"], "shipit.test");
    assert_eq!(body["data"]["services"][0]["app"], "hotdash-staging");
    let id = &hook.headers["webhook-id"];
    let ts = &hook.headers["webhook-timestamp"];
    assert!(id.starts_with("msg_") && id.len() == 36, "{id}");
    let ts_n: u64 = ts.parse().unwrap();
    assert!(ts_n >= before && ts_n <= before + 60);
    assert_eq!(
        hook.headers["webhook-signature"],
        python_signature(WEBHOOK_SECRET, id, ts, &hook.body)
    );
}

#[test]
fn notify_test_json_reports_each_channel_and_fails_when_one_is_not_delivered() {
    let rec = Recorder::start(|path| {
        if path.starts_with("/slack") {
            Reply::Status(500)
        } else if path.starts_with("/hook") {
            Reply::Hang
        } else {
            Reply::Status(200)
        }
    });
    let project = Project::new();
    project.config(channels_config());
    let start = Instant::now();
    let run = notify_test(&project, &rec, true);
    let took = start.elapsed();
    run.code(1);
    assert!(
        took < notify::TOTAL_CAP + Duration::from_secs(3),
        "took {took:?}"
    );
    let doc = run.json();
    assert_eq!(doc["delivered"], false);
    let by_kind: HashMap<String, Value> = doc["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["channel"].as_str().unwrap().to_owned(), c.clone()))
        .collect();
    assert_eq!(by_kind.len(), 5);
    let slack = &by_kind["slack"];
    assert_eq!(slack["delivered"], false);
    assert_eq!(slack["status"], 500);
    assert_eq!(slack["attempts"], 3, "5xx is retried: {slack}");
    assert!(
        slack["error"]
            .as_str()
            .unwrap()
            .contains("HTTP 500: invalid_payload after 3 attempts"),
        "{slack}"
    );
    assert_eq!(rec.on("/slack").len(), 3);
    let hook = &by_kind["webhook"];
    assert_eq!(hook["delivered"], false);
    assert!(
        hook["error"]
            .as_str()
            .unwrap()
            .contains("no answer within 4s"),
        "{hook}"
    );
    assert_eq!(
        rec.on("/hook").len(),
        1,
        "a timeout is not retried: the receiver may have acted"
    );
    for kind in ["discord", "teams", "pagerduty"] {
        assert_eq!(by_kind[kind]["delivered"], true, "{kind}");
    }
    assert_no_secrets(&run.stdout);
    assert_no_secrets(&run.stderr);
}

#[test]
fn notify_test_without_channels_says_how_to_add_one() {
    let project = Project::new();
    project.config("version: 1\napps: { web: {} }\nenvironments:\n  staging:\n    web: { app: a-staging, url: https://a.fly.dev }\n");
    project
        .run(&["notify", "test"])
        .code(1)
        .stderr_has("has no notification channels")
        .stderr_has("hint:");
}

// ---------------------------------------------------------------------------------------------
// send_all: concurrent, bounded, never failing

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `send_all` on its own runtime, and how long it took.
fn timed_send(
    channels: &[Channel],
    event: Event,
    record: &shipit::report::RunRecord,
    printer: &shipit::printer::Printer,
) -> (Vec<notify::SendResult>, Duration) {
    let start = Instant::now();
    let results = runtime().block_on(notify::send_all(channels, event, record, printer));
    (results, start.elapsed())
}

fn chat(kind: &str, url: String, on: Vec<Event>) -> Channel {
    let webhook_url = Text::literal(url);
    let kind = match kind {
        "slack" => ChannelKind::Slack { webhook_url },
        "discord" => ChannelKind::Discord { webhook_url },
        _ => ChannelKind::Teams { webhook_url },
    };
    Channel { kind, on }
}

#[test]
fn send_all_warns_about_dead_receivers_within_the_cap() {
    let rec = Recorder::start(|path| {
        if path.starts_with("/hang") {
            Reply::Hang
        } else {
            Reply::Status(503)
        }
    });
    // A port nobody listens on: connection refused, retried, then given up.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let channels = vec![
        chat("slack", rec.url("/hang/slack"), Event::ALL.to_vec()),
        chat("discord", rec.url("/fail/discord"), Event::ALL.to_vec()),
        chat(
            "teams",
            format!("http://{closed}/teams"),
            Event::ALL.to_vec(),
        ),
        chat("slack", rec.url("/filtered"), vec![Event::Succeeded]),
    ];
    let printer = shipit::printer::Printer::capturing();
    let record = rolled_back();
    let (results, took) = timed_send(&channels, Event::RolledBack, &record, &printer);
    assert!(
        took < notify::ATTEMPT_TIMEOUT + Duration::from_secs(2),
        "all channels are posted concurrently: {took:?}"
    );
    assert_eq!(
        results.len(),
        3,
        "the channel that does not want rolled_back is skipped"
    );
    assert!(results.iter().all(|r| !r.delivered));
    assert!(rec.on("/filtered").is_empty());
    assert_eq!(rec.on("/fail").len(), 3);
    let teams = results.iter().find(|r| r.channel == "teams").unwrap();
    assert!(
        teams
            .error
            .as_deref()
            .unwrap()
            .starts_with("cannot connect"),
        "{teams:?}"
    );
    assert_eq!(teams.attempts, 3, "connection errors are retried");
    let lines = printer.captured().join("\n");
    assert_eq!(
        lines.matches("warning: notification to").count(),
        3,
        "{lines}"
    );
    assert!(lines.contains(&format!("slack (127.0.0.1:{})", rec.addr.port())));
    assert!(
        !lines.contains("/hang/slack") && !lines.contains("/fail/discord"),
        "URLs are never printed:\n{lines}"
    );
}

#[test]
fn send_all_gives_up_at_the_total_cap() {
    let rec = Recorder::start(|_| Reply::Hang);
    // Three services rolled back: three PagerDuty change events in a row, each hanging for the
    // attempt timeout, would take 12 s; the cap stops it at 10 s.
    let mut record = rolled_back();
    let one = record.services[0].clone();
    record.services = (0..3)
        .map(|i| {
            let mut s = one.clone();
            s.app = format!("app-{i}");
            s
        })
        .collect();
    let channels = vec![Channel {
        kind: ChannelKind::PagerDuty {
            routing_key: Text::literal("R0UTINGKEY"),
            events_url: Text::literal(rec.url("/events")),
            change_url: Text::literal(rec.url("/change")),
        },
        on: Event::ALL.to_vec(),
    }];
    let printer = shipit::printer::Printer::capturing();
    let (results, took) = timed_send(&channels, Event::RolledBack, &record, &printer);
    assert!(
        took >= notify::TOTAL_CAP && took < notify::TOTAL_CAP + Duration::from_secs(1),
        "took {took:?}"
    );
    assert_eq!(results.len(), 1);
    assert!(
        results[0]
            .error
            .as_deref()
            .unwrap()
            .contains("gave up after 10s"),
        "{:?}",
        results[0]
    );
    assert_eq!(rec.on("/change").len(), 3);
}

#[test]
fn an_unsigned_webhook_has_id_and_timestamp_but_no_signature() {
    let channel = Channel {
        kind: ChannelKind::Webhook {
            url: Text::literal("http://127.0.0.1:9/x"),
            secret: None,
        },
        on: Event::ALL.to_vec(),
    };
    let r = succeeded();
    let out = notify::requests_for(
        &channel,
        &Message::new(&r, Event::Succeeded),
        "msg_fixed",
        1_795_775_000,
    )
    .unwrap();
    let names: Vec<&str> = out[0].headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["content-type", "webhook-id", "webhook-timestamp"]);
    assert_eq!(out[0].headers[2].1, "1795775000");
}

#[test]
fn a_cancelled_run_gets_a_shorter_cap_inside_githubs_signal_window() {
    let rec = Recorder::start(|_| Reply::Hang);
    let channels = vec![chat("slack", rec.url("/hang"), Event::ALL.to_vec())];
    let printer = shipit::printer::Printer::capturing();
    let mut record = rolled_back();
    record.event = Event::Cancelled;
    let (results, took) = timed_send(&channels, Event::Cancelled, &record, &printer);
    assert!(
        took >= notify::CANCELLED_CAP && took < notify::CANCELLED_CAP + Duration::from_secs(1),
        "took {took:?}"
    );
    assert!(
        results[0]
            .error
            .as_deref()
            .unwrap()
            .contains("gave up after 3s"),
        "{:?}",
        results[0]
    );
}

#[test]
fn send_all_pages_pagerduty_on_the_events_url_when_the_way_back_failed() {
    let rec = Recorder::start(|_| Reply::Status(202));
    let channels = vec![Channel {
        kind: ChannelKind::PagerDuty {
            routing_key: Text::literal("R0UTINGKEY-events"),
            events_url: Text::literal(rec.url("/v2/enqueue")),
            change_url: Text::literal(rec.url("/v2/change/enqueue")),
        },
        on: Event::ALL.to_vec(),
    }];
    let printer = shipit::printer::Printer::capturing();
    let record = rollback_failed();
    let results = runtime().block_on(notify::send_all(
        &channels,
        Event::RollbackFailed,
        &record,
        &printer,
    ));
    assert!(results[0].delivered, "{:?}", results[0]);
    let got = rec.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/v2/enqueue");
    let body = got[0].json();
    assert_eq!(body["routing_key"], "R0UTINGKEY-events");
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["dedup_key"], "shipit:hotdash-production:production");
    assert_eq!(body["payload"]["severity"], "critical");
}

#[test]
fn notify_test_opens_comments_on_and_closes_a_test_issue_for_an_issue_channel() {
    use crate::support::server::{Behaviour, Server};
    let github = Server::start([
        (
            "/repos/acme/shop/issues",
            Behaviour::seq([Behaviour::json("[]"), Behaviour::json(r#"{"number": 12}"#)]),
        ),
        ("/repos/acme/shop/issues/12/comments", Behaviour::json("{}")),
        (
            "/repos/acme/shop/issues/12",
            Behaviour::json(r#"{"number": 12, "state": "closed"}"#),
        ),
    ]);
    let project = Project::new();
    project.config(&format!(
        "version: 1\napps: {{ web: {{}} }}\nenvironments:\n  staging:\n    web: {{ app: hotdash-staging, url: https://hotdash-staging.fly.dev }}\nnotify:\n  - github_issue: {{ repository: acme/shop, api_url: \"{}\" }}\n",
        github.url()
    ));
    let token = "ghs_notify_test_token_77";
    let run = crate::support::Run::from(
        project
            .shipit(&["notify", "test", "--json"])
            .env("GITHUB_TOKEN", token)
            .output()
            .unwrap(),
    );
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["delivered"], true, "{doc}");
    let channel = &doc["channels"][0];
    assert_eq!(channel["channel"], "github_issue");
    assert_eq!(channel["requests"], 5, "{channel}");
    let calls: Vec<String> = github
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.target.split('?').next().unwrap()))
        .collect();
    assert_eq!(
        calls,
        [
            "GET /repos/acme/shop/issues",
            "POST /repos/acme/shop/issues",
            "POST /repos/acme/shop/issues/12/comments",
            "POST /repos/acme/shop/issues/12/comments",
            "PATCH /repos/acme/shop/issues/12",
        ],
        "a test issue opened, commented on, resolved and closed"
    );
    let created: Value = serde_json::from_slice(&github.requests()[1].body).unwrap();
    assert_eq!(
        created["title"],
        "alert(shipit): staging/shipit-notify-test/notify_test"
    );
    for r in github.requests() {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {token}").as_str())
        );
    }
    assert!(!run.stdout.contains(token) && !run.stderr.contains(token));

    // A GitHub that refuses the token: the channel fails and so does the command.
    let refusing = Server::start([(
        "/repos/acme/shop/issues",
        Behaviour::Reply(crate::support::server::Reply::new(
            401,
            r#"{"message":"Bad credentials"}"#,
        )),
    )]);
    project.config(&format!(
        "version: 1\napps: {{ web: {{}} }}\nenvironments:\n  staging:\n    web: {{ app: hotdash-staging, url: https://hotdash-staging.fly.dev }}\nnotify:\n  - github_issue: {{ repository: acme/shop, api_url: \"{}\" }}\n",
        refusing.url()
    ));
    let run = crate::support::Run::from(
        project
            .shipit(&["notify", "test"])
            .env("GITHUB_TOKEN", token)
            .output()
            .unwrap(),
    );
    run.code(1).stdout_has("FAIL  github_issue (acme/shop)");
    assert!(!run.stdout.contains(token) && !run.stderr.contains(token));
}
