//! `strategy: canary` end to end: the real binary, the flyctl double (which honours
//! `--only-machines`/`--exclude-machines` as flyctl does) and a health endpoint on 127.0.0.1
//! that answers per machine when a probe is pinned with `Fly-Force-Instance-Id`.
//!
//! Determinism under a loaded machine: the sides differ (or not) by construction, never by
//! chance. Latencies are server delays large against scheduling noise, and what noise there is
//! hits both sides alike (the probes alternate). Errors and "noisy" latencies are fixed cycles of
//! an odd length, so the alternating sides each walk the whole cycle: an equal canary sees the
//! very same values as the baseline, and a 2 % canary exactly one error in 51 probes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fleet::FleetServer;
use crate::support::server::{Behaviour, Reply};
use crate::support::{Project, Run, eventually, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const NEW: &str = "registry.fly.io/hotdash-staging:new";
/// The machines of `fly_app`.
const MACHINES: [&str; 3] = ["148ed193b95089", "d8d9e0f1a2b3c4", "e2865d3f1c2b77"];

/// The canary shipit chose (the first machine `status` lists; the double's order is flyctl's)
/// and the other machines, read off the first deploy call.
fn sides(p: &Project) -> (String, Vec<String>) {
    let calls = p.deploy_calls();
    let canary = flag(&calls[0], "--only-machines")
        .expect("the first call is the canary's")
        .to_owned();
    assert!(MACHINES.contains(&canary.as_str()), "{canary}");
    let others = MACHINES
        .iter()
        .filter(|m| **m != canary)
        .map(|m| (*m).to_owned())
        .collect();
    (canary, others)
}

/// A project whose staging/web is `APP` on `GOOD` (release 3, `machines` machines), deployed
/// with `strategy: canary` and `canary_keys`; `/health` answers `good()` for `GOOD` and `new()`
/// for any other image, per machine when pinned.
fn project(
    machines: usize,
    good: fn() -> Behaviour,
    new: fn() -> Behaviour,
    canary_keys: &str,
    extra: &str,
) -> (Project, FleetServer) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, machines)}}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, move |_, image| {
        if image == GOOD { good() } else { new() }
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  strategy: canary\n  canary: {{ {canary_keys} }}\n  health: {{ path: /health, interval: 50ms, timeout: 2s, healthy_after: 2, unhealthy_after: 3, deadline: 10s }}\n  deploy_timeout: 30s\n{extra}apps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n",
        fleet.url()
    ));
    (p, fleet)
}

fn slow(ms: u64) -> Behaviour {
    Behaviour::slow(Duration::from_millis(ms), "ok")
}

/// 60 probes (30 a side), one every 20 ms: short, and enough for `min_samples: 30`.
const SHORT: &str = "duration: 1200ms, interval: 20ms, min_samples: 30";

fn deploy(p: &Project) -> Run {
    p.run(&["deploy", "staging", "--image", NEW])
}

fn receipt(p: &Project) -> Value {
    let dir = p.file(".shipit/runs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("receipts folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    serde_json::from_str(&std::fs::read_to_string(files.last().expect("a receipt")).unwrap())
        .unwrap()
}

/// (image, release) of one machine of APP in the double's state.
fn machine(p: &Project, id: &str) -> (String, u64) {
    let state = p.state();
    let m = state["apps"][APP]["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap();
    (
        m["image"].as_str().unwrap().to_owned(),
        m["release_version"].as_u64().unwrap(),
    )
}

fn flag<'a>(call: &'a [String], name: &str) -> Option<&'a str> {
    call.windows(2)
        .find(|w| w[0] == name)
        .map(|w| w[1].as_str())
}

/// A failed canary: only the canary machine went back; the others were never touched.
fn assert_only_the_canary_went_back(p: &Project, run: &Run) {
    let (canary, others) = sides(p);
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 2, "the canary, then its way back: {calls:?}");
    assert_eq!(flag(&calls[0], "--image"), Some(NEW));
    assert_eq!(flag(&calls[1], "--only-machines"), Some(canary.as_str()));
    assert_eq!(flag(&calls[1], "--image"), Some(GOOD));
    for call in &calls {
        assert_eq!(flag(call, "--strategy"), Some("rolling"), "{call:?}");
    }
    for id in &others {
        assert_eq!(
            machine(p, id),
            (GOOD.to_owned(), 3),
            "machine {id} was touched"
        );
    }
    assert_eq!(machine(p, &canary).0, GOOD);
    run.stderr_has("reached only 1 of 3 machines (33 % of the fleet)");
    let r = receipt(p);
    assert_eq!(r["outcome"], "rolled_back");
    assert_eq!(r["services"][0]["canary"]["judgement"]["verdict"], "fail");
    assert_eq!(r["services"][0]["canary"]["machines"], json!([canary]));
}

#[test]
fn a_canary_30_percent_slower_fails_and_only_the_canary_is_rolled_back() {
    let (p, _f) = project(3, || slow(60), || slow(78), SHORT, "");
    let run = deploy(&p);
    run.code(3).stderr_has("canary failed").stderr_has("slower");
    assert_only_the_canary_went_back(&p, &run);
    let canary = &receipt(&p)["services"][0]["canary"]["judgement"];
    assert!(
        canary["latency"]["increase"].as_f64().unwrap() > 0.2,
        "{canary}"
    );
    // What explain shows: samples per side, medians, p95s, U, p-value, effect size, the rule.
    let explain = p.run(&["explain", "last"]);
    explain
        .code(0)
        .stdout_has("canary: 30 probes")
        .stdout_has("baseline: 30 probes")
        .stdout_has("p95")
        .stdout_has("Mann-Whitney U =")
        .stdout_has("effect size")
        .stdout_has("deciding rule");
}

#[test]
fn a_canary_with_2_percent_errors_fails() {
    // One answer in 51 fails `[BODY] == ok` (not critical: a 200); 450 probes a side.
    let (p, _f) = project(
        3,
        || Behaviour::ok("ok"),
        || {
            let mut answers = vec![Behaviour::ok("ok"); 50];
            answers.push(Behaviour::ok("degraded"));
            Behaviour::cycle(answers)
        },
        "duration: 4500ms, interval: 5ms, min_samples: 30",
        "",
    );
    p.config(&p.read("shipit.yml").replace(
        "deadline: 10s }",
        "deadline: 10s, expect: [\"[STATUS] == 200\", \"[BODY] == ok\"] }",
    ));
    let run = deploy(&p);
    run.code(3).stderr_has("more errors");
    assert_only_the_canary_went_back(&p, &run);
    let canary = &receipt(&p)["services"][0]["canary"]["judgement"];
    assert!(
        canary["canary"]["errors"].as_u64().unwrap() >= 8,
        "{canary}"
    );
    assert_eq!(canary["baseline"]["errors"], 0, "{canary}");
}

#[test]
fn an_identical_canary_passes_and_the_rest_of_the_fleet_is_deployed() {
    let (p, _f) = project(3, || slow(30), || slow(30), SHORT, "");
    let run = deploy(&p);
    run.code(0)
        .stderr_has("canary passed")
        .stderr_has("passed every gate");
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (canary, others) = sides(&p);
    assert_eq!(
        flag(&calls[1], "--exclude-machines"),
        Some(canary.as_str()),
        "{:?}",
        calls[1]
    );
    assert_eq!(flag(&calls[1], "--only-machines"), None);
    for id in MACHINES {
        assert_eq!(machine(&p, id).0, NEW, "machine {id}");
    }
    // The canary kept its release; the rest got the next one.
    assert_eq!(machine(&p, &canary).1, 4);
    assert_eq!(machine(&p, &others[0]).1, 5);
    let r = receipt(&p);
    assert_eq!(r["outcome"], "success");
    let gates: Vec<&str> = r["services"][0]["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in ["canary fleet", "canary", "fleet", "health", "regression"] {
        assert!(gates.contains(&g), "{g} in {gates:?}");
    }
    assert_eq!(r["services"][0]["canary"]["judgement"]["verdict"], "pass");
}

#[test]
fn a_noisy_but_equal_canary_does_not_fail() {
    // Both sides walk the same seven latencies, 5 ms to 90 ms: a wide spread, no difference.
    fn noisy() -> Behaviour {
        Behaviour::cycle(
            [5, 40, 12, 90, 20, 60, 8]
                .map(|ms| Behaviour::Reply(Reply::new(200, "ok").delay(Duration::from_millis(ms)))),
        )
    }
    let (p, _f) = project(
        3,
        noisy,
        noisy,
        SHORT,
        // Seven back-to-back probes per regression sample walk the cycle once each.
        "  regression: { probes: 7 }\n",
    );
    let run = deploy(&p);
    run.code(0).stderr_has("canary passed");
    assert_eq!(p.deploy_calls().len(), 2);
}

#[test]
fn a_fleet_of_one_falls_back_to_the_plain_pipeline() {
    let (p, _f) = project(1, || slow(5), || slow(5), SHORT, "");
    let run = deploy(&p);
    run.code(0)
        .stderr_has("no canary: a fleet of 1 machine")
        .stderr_has("passed every gate");
    let calls = p.deploy_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(flag(&calls[0], "--only-machines"), None);
    assert_eq!(flag(&calls[0], "--exclude-machines"), None);
    let r = receipt(&p);
    assert!(r["services"][0].get("canary").is_none());
    assert!(
        r["services"][0]["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("no canary")),
        "{}",
        r["services"][0]["warnings"]
    );
}

#[test]
fn cancelling_during_the_canary_window_exits_130_naming_the_canary_machines() {
    let (p, f) = project(
        3,
        || slow(5),
        || slow(5),
        "duration: 60s, interval: 50ms, min_samples: 30",
        "",
    );
    let child = p
        .shipit(&["deploy", "staging", "--image", NEW])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The canary runs the new image and the window has started probing.
    let ready = eventually(Duration::from_secs(20), || {
        p.deploy_calls().len() == 1
            && MACHINES.iter().filter(|m| machine(&p, m).0 == NEW).count() == 1
            && f.server
                .requests()
                .iter()
                .filter(|r| r.header("fly-force-instance-id").is_some())
                .count()
                > 4
    });
    assert!(ready, "the canary window never started");
    let sent = Instant::now();
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT");
    let run = Run::from(child.wait_with_output().unwrap());
    let took = sent.elapsed();
    let (canary, others) = sides(&p);
    run.code(130)
        .stderr_has("cancelled during the canary")
        .stderr_has(&format!(
            "on {canary}, 1 of 3 machines (33 % of the fleet);"
        ));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("shipit rollback hotdash-staging --to 3"),
        "last line: {last}"
    );
    // Nothing else was deployed, and the others still run the baseline.
    assert_eq!(p.deploy_calls().len(), 1);
    for id in &others {
        assert_eq!(machine(&p, id), (GOOD.to_owned(), 3));
    }
    assert_eq!(receipt(&p)["outcome"], "cancelled");
}

#[test]
fn plan_shows_the_canary_call_the_rest_and_the_way_back() {
    let (p, _f) = project(3, || slow(5), || slow(5), SHORT, "");
    let run = p.run(&["plan", "staging", "--image", NEW]);
    run.code(0);
    let canary = run
        .stdout
        .lines()
        .find(|l| l.contains(". canary:"))
        .unwrap_or_else(|| panic!("no canary step:\n{}", run.stdout));
    let rest = run
        .stdout
        .lines()
        .find(|l| l.contains(". deploy:"))
        .unwrap();
    let only = canary
        .split("--only-machines ")
        .nth(1)
        .and_then(|rest| rest.split([' ', ';', ')']).next())
        .unwrap_or_else(|| panic!("{canary}"));
    assert!(MACHINES.contains(&only), "{canary}");
    assert!(canary.contains("1 of 3 machines"), "{canary}");
    assert!(
        canary.contains(&format!(
            "--image {GOOD} --strategy rolling --only-machines {only}"
        )),
        "the way back, the canary only: {canary}"
    );
    assert!(
        rest.contains(&format!("--strategy rolling --exclude-machines {only}")),
        "{rest}"
    );
    assert!(!run.stdout.contains("--strategy canary"), "{}", run.stdout);
    let json = p.run(&["plan", "staging", "--image", NEW, "--json"]).json();
    let service = &json["services"][0];
    let argv = |key: &str| -> String {
        service[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {service}"))
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        argv("canary_argv").ends_with(&format!("--only-machines {only}")),
        "{service}"
    );
    assert!(
        argv("flyctl_argv").ends_with(&format!("--exclude-machines {only}")),
        "{service}"
    );
    // The run makes the calls plan showed.
    deploy(&p).code(0);
    let calls = p.deploy_calls();
    assert_eq!(flag(&calls[0], "--only-machines"), Some(only));
    assert_eq!(flag(&calls[1], "--exclude-machines"), Some(only));
}

#[test]
fn the_job_summary_shows_the_canary_figures() {
    let (p, _f) = project(3, || slow(60), || slow(78), SHORT, "");
    let gh = tempfile::tempdir().unwrap();
    let summary = gh.path().join("summary.md");
    let out = p
        .shipit(&["deploy", "staging", "--image", NEW])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", gh.path().join("output"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    Run::from(out).code(3);
    let text = std::fs::read_to_string(&summary).unwrap();
    for want in [
        "canary: 30 probes",
        "baseline: 30 probes",
        "median",
        "p95",
        "Mann-Whitney U =",
        "effect size",
        "deciding rule",
    ] {
        assert!(text.contains(want), "{want:?} in the job summary:\n{text}");
    }
}
