//! SIGINT in every stage of a deploy, one table: the real binary, the flyctl double, and a health
//! endpoint that serves what the double's fleet runs. Each case makes its stage wait (a hung
//! flyctl call, a probe that hangs or answers slowly, a gate that never decides), interrupts the
//! run there, and checks the exit code (130), the time it took (under GitHub's 10 s), the
//! record, and the last line: `nothing was changed` before the deploy call, the rollback
//! command from it on.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fleet::FleetServer;
use crate::support::server::{Behaviour, Server};
use crate::support::{Project, eventually, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const NEW: &str = "registry.fly.io/hotdash-staging:new";
const ROLLBACK: &str = "shipit rollback hotdash-staging --to 3";

/// What a case sees while the run goes on: the project, the health endpoint, stderr so far.
struct Seen<'a> {
    p: &'a Project,
    f: &'a FleetServer,
    stderr: &'a str,
}

impl Seen<'_> {
    fn step(&self, stage: &str) -> bool {
        self.stderr
            .contains(&format!("staging/web ({APP}): {stage}\n"))
    }

    fn called(&self, command: &str) -> bool {
        self.p
            .fly_calls()
            .iter()
            .any(|c| c.first().is_some_and(|a| a == command))
    }
}

struct Case {
    stage: &'static str,
    /// The command line (default: `deploy staging --image NEW`).
    args: &'static [&'static str],
    /// Replaces the health block's timing keys.
    health: &'static str,
    /// Added under `defaults:`.
    defaults: &'static str,
    deploys: Value,
    /// flyctl read commands that never answer.
    hang: &'static [&'static str],
    /// `/health` of the baseline image before the rollback, and once the rollback (release 5)
    /// runs it.
    good: fn() -> Behaviour,
    good_after_rollback: fn() -> Behaviour,
    /// `/health` of the new image.
    new: fn() -> Behaviour,
    /// `/smoke` (the smoke suite's one check), when the case has a suite.
    smoke: Option<fn() -> Behaviour>,
    /// The run is in the stage under test.
    ready: fn(&Seen<'_>) -> bool,
    /// A second SIGINT 300 ms after the first: exit at once.
    twice: bool,
    last_has: &'static str,
    last_lacks: &'static [&'static str],
    deploy_calls: usize,
}

const QUICK: &str =
    "interval: 50ms, timeout: 500ms, healthy_after: 3, unhealthy_after: 3, deadline: 3s";
const UNDECIDED: &str =
    "interval: 50ms, timeout: 500ms, healthy_after: 3, unhealthy_after: 1000, deadline: 60s";
const PATIENT: &str =
    "interval: 50ms, timeout: 20s, healthy_after: 3, unhealthy_after: 3, deadline: 60s";

fn ok() -> Behaviour {
    Behaviour::ok("{\"ok\":true}")
}
fn fails() -> Behaviour {
    Behaviour::status(500)
}
fn hangs() -> Behaviour {
    Behaviour::Hang
}
fn slow() -> Behaviour {
    Behaviour::slow(Duration::from_millis(1500), "{\"ok\":true}")
}

fn base() -> Case {
    Case {
        stage: "",
        args: &["deploy", "staging", "--image", NEW],
        health: QUICK,
        defaults: "",
        deploys: json!([]),
        hang: &[],
        good: ok,
        good_after_rollback: ok,
        new: ok,
        smoke: None,
        ready: |_| true,
        twice: false,
        last_has: ROLLBACK,
        last_lacks: &[],
        deploy_calls: 1,
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            stage: "preflight",
            hang: &["status"],
            ready: |s| s.step("preflight") && s.called("status"),
            last_has: "nothing was changed",
            last_lacks: &["shipit rollback"],
            deploy_calls: 0,
            ..base()
        },
        Case {
            stage: "baseline",
            health: PATIENT,
            good: hangs,
            ready: |s| s.step("baseline") && s.f.server.hits("/health") > 0,
            last_has: "nothing was changed",
            last_lacks: &["shipit rollback"],
            deploy_calls: 0,
            ..base()
        },
        Case {
            stage: "baseline, Ctrl-C twice",
            health: PATIENT,
            good: hangs,
            ready: |s| s.step("baseline") && s.f.server.hits("/health") > 0,
            twice: true,
            last_has: "nothing was changed",
            last_lacks: &["shipit rollback"],
            deploy_calls: 0,
            ..base()
        },
        Case {
            stage: "deploy",
            deploys: json!([{"outcome": "hang"}]),
            ready: |s| s.step("deploy") && !s.p.deploy_calls().is_empty(),
            // flyctl is stopped before it touches a machine: v3 is live, nothing to go back to.
            last_has: "cancelled, live: v3",
            last_lacks: &["to go back"],
            ..base()
        },
        Case {
            stage: "deploy, Ctrl-C twice",
            deploys: json!([{"outcome": "hang"}]),
            ready: |s| s.step("deploy") && !s.p.deploy_calls().is_empty(),
            twice: true,
            last_has: ROLLBACK,
            ..base()
        },
        Case {
            stage: "health gate",
            health: UNDECIDED,
            new: fails,
            ready: |s| s.step("health gate") && s.f.server.hits("/health") > 6,
            ..base()
        },
        Case {
            stage: "health gate, Ctrl-C twice",
            health: UNDECIDED,
            new: fails,
            ready: |s| s.step("health gate") && s.f.server.hits("/health") > 6,
            twice: true,
            ..base()
        },
        Case {
            stage: "regression gate",
            health: PATIENT,
            new: slow,
            ready: |s| s.step("regression gate"),
            ..base()
        },
        Case {
            stage: "smoke",
            health: PATIENT,
            smoke: Some(hangs),
            ready: |s| s.step("smoke"),
            ..base()
        },
        Case {
            stage: "watch",
            defaults: "  watch: 60s\n",
            ready: |s| s.step("watch"),
            ..base()
        },
        Case {
            stage: "rollback deploy",
            deploys: json!([{"outcome": "ok"}, {"outcome": "hang"}]),
            new: fails,
            ready: |s| s.p.deploy_calls().len() == 2,
            deploy_calls: 2,
            ..base()
        },
        Case {
            stage: "rollback health gate",
            health: UNDECIDED,
            // One machine of two updated, checks critical: the fleet check rolls back, so the
            // rollback's gate is the first gate; the baseline image no longer answers.
            deploys: json!([{"outcome": "fail_health"}]),
            good_after_rollback: fails,
            ready: |s| {
                s.stderr.contains("rollback to v3")
                    && s.p.deploy_calls().len() == 2
                    && s.stderr.matches("[STATUS] (500)").count() > 3
            },
            last_has: "its health gate unfinished; to finish the rollback: shipit rollback hotdash-staging --to 3",
            deploy_calls: 2,
            ..base()
        },
        Case {
            stage: "shipit rollback, its health gate",
            args: &["rollback", "hotdash-staging"],
            health: UNDECIDED,
            // The default target is v2 (deployment-v2), which never decides its gate.
            new: fails,
            ready: |s| s.p.deploy_calls().len() == 1 && s.f.server.hits("/health") > 3,
            last_has: "to finish the rollback: shipit rollback hotdash-staging --to 2",
            ..base()
        },
        Case {
            stage: "shipit rollback, its deploy call",
            args: &["rollback", "hotdash-staging"],
            deploys: json!([{"outcome": "hang"}]),
            ready: |s| s.p.deploy_calls().len() == 1,
            last_has: "to finish the rollback: shipit rollback hotdash-staging --to 2",
            ..base()
        },
        Case {
            stage: "shipit rollback, reading the releases",
            args: &["rollback", "hotdash-staging"],
            hang: &["releases"],
            ready: |s| s.called("releases"),
            last_has: "nothing was changed",
            last_lacks: &["shipit rollback"],
            deploy_calls: 0,
            ..base()
        },
    ]
}

/// The newest release version in the double's state.
fn newest_release(state: &Value) -> u64 {
    state["apps"][APP]["releases"]
        .as_array()
        .map(|rs| rs.iter().filter_map(|r| r["version"].as_u64()).max())
        .unwrap_or_default()
        .unwrap_or_default()
}

fn project(case: &Case) -> (Project, FleetServer, Server) {
    let p = Project::new();
    p.fly_state(&json!({
        "apps": {APP: fly_app(APP, 3, GOOD, 2)},
        "deploys": case.deploys,
        "hang": case.hang,
    }));
    let (good, after, new) = (case.good, case.good_after_rollback, case.new);
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, move |state, image| {
        if image == GOOD {
            if newest_release(state) >= 5 {
                after()
            } else {
                good()
            }
        } else {
            new()
        }
    });
    if let Some(smoke) = case.smoke {
        fleet.server.set("/smoke", smoke());
    }
    // A receiver that never answers the cancelled message, so a cancelled run spends its last
    // seconds notifying and a second Ctrl-C lands while it does.
    let hook = Server::start([("/hook", Behaviour::Hang)]);
    p.fly_toml("fly/hotdash-staging.toml", APP);
    let smoke = if case.smoke.is_some() {
        p.write(
            "smoke/web.yml",
            "checks:\n  - { name: slow page, path: /smoke, expect: [\"[STATUS] == 200\"], timeout: 20s }\n",
        );
        "    smoke: smoke/web.yml\n"
    } else {
        ""
    };
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, {} }}\n  regression: {{ probes: 3 }}\n  deploy_timeout: 30s\n{}apps:\n  web:\n{smoke}    rollback: auto\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\nnotify:\n  - webhook: {{ url: \"{}\", on: [cancelled] }}\n",
        case.health,
        case.defaults,
        fleet.url(),
        hook.url_for("/hook"),
    ));
    (p, fleet, hook)
}

fn signal(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT {pid}");
}

/// Runs one case; returns what went wrong, if anything.
fn run(case: &Case) -> Result<(), String> {
    let (p, f, _hook) = project(case);
    let mut child = p
        .shipit(case.args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stderr is read as it comes, so a case can wait for a step line.
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = {
        let stderr = stderr.clone();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = stderr.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        })
    };
    let got_there = eventually(Duration::from_secs(30), || {
        let text = stderr.lock().unwrap().clone();
        (case.ready)(&Seen {
            p: &p,
            f: &f,
            stderr: &text,
        })
    });
    if !got_there {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "never reached the stage:\n{}",
            stderr.lock().unwrap()
        ));
    }
    let sent = Instant::now();
    signal(child.id());
    if case.twice {
        std::thread::sleep(Duration::from_millis(300));
        signal(child.id());
    }
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    reader.join().unwrap();
    let stderr = stderr.lock().unwrap().clone();
    let last = stderr.lines().last().unwrap_or_default();
    let mut problems = Vec::new();
    if status.code() != Some(130) {
        problems.push(format!("exit {:?}, not 130", status.code()));
    }
    if took >= Duration::from_secs(10) {
        problems.push(format!("took {took:?} after SIGINT"));
    }
    if case.twice && !last.contains("exiting at once: ") {
        problems.push("a second Ctrl-C did not exit at once".into());
    }
    if !last.contains(case.last_has) {
        problems.push(format!("the last line lacks `{}`", case.last_has));
    }
    for no in case.last_lacks {
        if last.contains(no) {
            problems.push(format!("the last line has `{no}`"));
        }
    }
    if !case.last_lacks.is_empty() {
        // Not among the last lines either: nothing to roll back from.
        let tail: Vec<&str> = stderr.lines().rev().take(4).collect();
        if let Some(no) = case
            .last_lacks
            .iter()
            .find(|no| tail.iter().any(|l| l.contains(*no)))
        {
            problems.push(format!("the last lines have `{no}`"));
        }
    }
    let calls = p.deploy_calls().len();
    if calls != case.deploy_calls {
        problems.push(format!("{calls} deploy calls, not {}", case.deploy_calls));
    }
    if stderr.contains("unhealthy too") || stderr.contains("a human must act now") {
        problems.push("it reads as a failed rollback".into());
    }
    if !case.twice {
        // A run that was let finish leaves its record: cancelled, not needs_human.
        let receipt = receipt(&p);
        if receipt["outcome"] != "cancelled" {
            problems.push(format!("the receipt says {}", receipt["outcome"]));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nlast line: {last}\n{stderr}",
            problems.join("; ")
        ))
    }
}

fn receipt(p: &Project) -> Value {
    let dir = p.file(".shipit/runs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .last()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

#[test]
fn sigint_in_every_stage_exits_130_within_10s_with_the_right_last_line() {
    // The cases run side by side (each has its own project, double and servers), so the table
    // takes about as long as its slowest case.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases()
            .into_iter()
            .map(|case| {
                scope.spawn(move || run(&case).err().map(|e| format!("{}: {e}", case.stage)))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
