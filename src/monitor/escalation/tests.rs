//! Every timing of the runbook's escalation, with a clock that jumps and the in-memory store.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::monitor::alerting::{Applied, apply};
use crate::monitor::testing::{FakeSender, MemoryStore};
use crate::store::Store;

const ENV: &str = "staging";
const APP: &str = "hotdash-staging";

struct Harness {
    store: MemoryStore,
    sender: FakeSender,
    policy: Policy,
    now: SystemTime,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            store: MemoryStore::default(),
            sender: FakeSender::new(),
            policy: Policy::default(),
            now: UNIX_EPOCH + Duration::from_secs(1_787_313_600),
        }
    }

    fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
    }

    /// One pass with these findings on the app (rule, level), everything else judged clean.
    fn pass(&mut self, findings: &[(&str, Level)]) -> (Plan, Applied) {
        self.pass_with(findings, &[])
    }

    fn pass_with(&mut self, findings: &[(&str, Level)], unknown: &[&str]) -> (Plan, Applied) {
        let observed = vec![Observed {
            app: APP.into(),
            findings: findings
                .iter()
                .map(|(rule, level)| Finding::new(APP, rule, *level, format!("{rule} seen")))
                .collect(),
            unknown: unknown.iter().map(|u| (*u).to_owned()).collect(),
        }];
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let stored = self.store.alerts(Some(ENV)).await.unwrap();
            let plan = plan(ENV, self.now, &self.policy, &observed, &stored);
            let applied = apply(&self.store, &self.sender, &plan).await;
            (plan, applied)
        })
    }

    fn state(&self, rule: &str) -> Option<AlertState> {
        self.store.alert(ENV, APP, rule)
    }

    fn sent(&self) -> Vec<String> {
        self.sender.log()
    }
}

fn status_of(plan: &Plan, rule: &str) -> (Status, Level) {
    let r = plan
        .reported
        .iter()
        .find(|r| r.rule == rule)
        .unwrap_or_else(|| panic!("{rule} not reported: {:?}", plan.reported));
    (r.status, r.level)
}

const MIN: u64 = 60;

#[test]
fn down_alerts_at_once_and_is_not_sent_again() {
    let mut h = Harness::new();
    let (plan, _) = h.pass(&[("down", Level::Critical)]);
    assert_eq!(status_of(&plan, "down"), (Status::Firing, Level::Critical));
    assert!(plan.needs_action());
    h.advance(4 * 3600);
    let (plan, _) = h.pass(&[("down", Level::Critical)]);
    assert_eq!(status_of(&plan, "down"), (Status::Open, Level::Critical));
    assert!(plan.needs_action(), "still down: still exit 1");
    assert_eq!(h.sent(), ["trigger staging/hotdash-staging/down critical"]);
    let s = h.state("down").unwrap();
    assert!(s.open && s.notified);
    assert_eq!(s.first_seen, "2026-08-21T12:00:00Z");
    assert_eq!(s.last_seen, "2026-08-21T16:00:00Z");
}

#[test]
fn failing_health_alerts_after_five_minutes_from_the_first_seen_time() {
    let mut h = Harness::new();
    let (plan, _) = h.pass(&[("health_failing", Level::Alert)]);
    assert_eq!(
        status_of(&plan, "health_failing"),
        (Status::Pending, Level::Warning)
    );
    assert!(!plan.needs_action(), "pending is a warning");
    h.advance(5 * MIN - 1);
    let (plan, _) = h.pass(&[("health_failing", Level::Alert)]);
    assert_eq!(status_of(&plan, "health_failing").0, Status::Pending);
    assert!(h.sent().is_empty());
    h.advance(1);
    let (plan, _) = h.pass(&[("health_failing", Level::Alert)]);
    assert_eq!(
        status_of(&plan, "health_failing"),
        (Status::Firing, Level::Alert)
    );
    assert_eq!(plan.reported[0].for_s, Some(300));
    assert_eq!(
        h.sent(),
        ["trigger staging/hotdash-staging/health_failing alert"]
    );
}

#[test]
fn two_runs_far_apart_escalate_without_counting_runs() {
    // Scheduled runs arrive late: two passes 20 minutes apart are enough for the 15 minutes.
    let mut h = Harness::new();
    let (plan, _) = h.pass(&[("slow", Level::Alert)]);
    assert_eq!(status_of(&plan, "slow"), (Status::Pending, Level::Warning));
    h.advance(20 * MIN);
    let (plan, _) = h.pass(&[("slow", Level::Alert)]);
    assert_eq!(status_of(&plan, "slow"), (Status::Firing, Level::Alert));
}

#[test]
fn a_slow_app_alerts_after_fifteen_minutes() {
    let mut h = Harness::new();
    for _ in 0..14 {
        h.pass(&[("slow", Level::Alert)]);
        h.advance(MIN);
    }
    h.advance(MIN - 1);
    let (plan, _) = h.pass(&[("slow", Level::Alert)]);
    assert_eq!(status_of(&plan, "slow").0, Status::Pending, "14m59s");
    h.advance(1);
    let (plan, _) = h.pass(&[("slow", Level::Alert)]);
    assert_eq!(status_of(&plan, "slow").0, Status::Firing, "15m");
}

#[test]
fn a_single_pass_inside_the_window_resets_it() {
    let mut h = Harness::new();
    h.pass(&[("health_failing", Level::Alert)]);
    h.advance(3 * MIN);
    let (plan, _) = h.pass(&[]);
    assert!(
        plan.reported.is_empty(),
        "a pending condition that passes is not reported"
    );
    assert_eq!(h.state("health_failing"), None, "the window starts over");
    h.advance(MIN);
    h.pass(&[("health_failing", Level::Alert)]);
    assert_eq!(
        h.state("health_failing").unwrap().first_seen,
        "2026-08-21T12:04:00Z"
    );
    h.advance(4 * MIN);
    let (plan, _) = h.pass(&[("health_failing", Level::Alert)]);
    assert_eq!(
        status_of(&plan, "health_failing").0,
        Status::Pending,
        "8 minutes since the first failure, 4 since the reset"
    );
    h.advance(MIN);
    let (plan, _) = h.pass(&[("health_failing", Level::Alert)]);
    assert_eq!(status_of(&plan, "health_failing").0, Status::Firing);
}

#[test]
fn open_then_suppressed_then_resolved_after_resolve_after_clean_checks() {
    let mut h = Harness::new();
    h.pass(&[("http_5xx", Level::Critical)]);
    h.advance(MIN);
    h.pass(&[("http_5xx", Level::Critical)]);
    h.advance(MIN);
    let (plan, _) = h.pass(&[]);
    assert_eq!(
        status_of(&plan, "http_5xx"),
        (Status::Clearing, Level::Critical)
    );
    assert!(
        !plan.needs_action(),
        "waiting for resolve_after does not make the exit 1"
    );
    assert_eq!(h.state("http_5xx").unwrap().clean_checks, 1);
    h.advance(MIN);
    let (plan, _) = h.pass(&[]);
    assert_eq!(status_of(&plan, "http_5xx").0, Status::Resolved);
    assert_eq!(h.state("http_5xx"), None);
    h.advance(MIN);
    let (plan, _) = h.pass(&[]);
    assert!(plan.reported.is_empty());
    assert_eq!(
        h.sent(),
        [
            "trigger staging/hotdash-staging/http_5xx critical",
            "resolve staging/hotdash-staging/http_5xx critical"
        ]
    );
}

#[test]
fn a_relapse_while_clearing_keeps_the_alert_open_without_a_new_message() {
    let mut h = Harness::new();
    h.pass(&[("http_5xx", Level::Critical)]);
    h.pass(&[]);
    let (plan, _) = h.pass(&[("http_5xx", Level::Critical)]);
    assert_eq!(status_of(&plan, "http_5xx").0, Status::Open);
    assert_eq!(h.state("http_5xx").unwrap().clean_checks, 0);
    assert_eq!(h.sent().len(), 1);
}

#[test]
fn a_trigger_whose_send_failed_is_retried_on_the_next_pass() {
    let mut h = Harness::new();
    *h.sender.ok.borrow_mut() = false;
    let (_, applied) = h.pass(&[("down", Level::Critical)]);
    assert!(
        applied.warnings[0].contains("was not delivered: 503 from hooks.example; it is sent again"),
        "{:?}",
        applied.warnings
    );
    let s = h.state("down").unwrap();
    assert!(s.open && !s.notified);
    *h.sender.ok.borrow_mut() = true;
    h.advance(MIN);
    let (plan, applied) = h.pass(&[("down", Level::Critical)]);
    assert_eq!(status_of(&plan, "down").0, Status::Firing);
    assert!(applied.warnings.is_empty());
    assert!(h.state("down").unwrap().notified);
    h.advance(MIN);
    h.pass(&[("down", Level::Critical)]);
    assert_eq!(
        h.sent().len(),
        2,
        "failed, retried, then quiet: {:?}",
        h.sent()
    );
}

#[test]
fn a_failed_resolve_still_clears_the_state() {
    let mut h = Harness::new();
    h.pass(&[("oom_killed", Level::Alert)]);
    *h.sender.ok.borrow_mut() = false;
    h.pass(&[]);
    let (plan, applied) = h.pass(&[]);
    assert_eq!(status_of(&plan, "oom_killed").0, Status::Resolved);
    assert!(
        applied.warnings[0].contains("the alert is cleared anyway"),
        "{:?}",
        applied.warnings
    );
    assert_eq!(h.state("oom_killed"), None, "no zombie alert");
    h.pass(&[]);
    assert_eq!(
        h.sent().len(),
        2,
        "trigger, one resolve attempt, nothing after"
    );
}

#[test]
fn an_alert_nobody_was_told_about_resolves_silently() {
    let mut h = Harness::new();
    *h.sender.ok.borrow_mut() = false;
    h.pass(&[("oom_killed", Level::Alert)]);
    h.pass(&[]);
    h.pass(&[]);
    assert_eq!(h.state("oom_killed"), None);
    assert_eq!(
        h.sent(),
        ["trigger staging/hotdash-staging/oom_killed alert"]
    );
}

#[test]
fn while_the_app_is_down_its_other_findings_are_held_back() {
    let mut h = Harness::new();
    let (plan, _) = h.pass(&[
        ("down", Level::Critical),
        ("oom_killed", Level::Alert),
        ("health_failing", Level::Alert),
    ]);
    assert_eq!(status_of(&plan, "down").0, Status::Firing);
    assert_eq!(status_of(&plan, "oom_killed").0, Status::Held);
    assert_eq!(status_of(&plan, "health_failing").0, Status::Held);
    assert_eq!(
        h.sent(),
        ["trigger staging/hotdash-staging/down critical"],
        "one outage, one alert"
    );
    assert!(!h.state("oom_killed").unwrap().open);
    h.advance(10 * MIN);
    h.pass(&[("down", Level::Critical), ("oom_killed", Level::Alert)]);
    assert_eq!(h.sent().len(), 1);
    // The app answers again and the OOM kills go on: now they are an alert of their own.
    h.advance(MIN);
    let (plan, _) = h.pass(&[("oom_killed", Level::Alert)]);
    assert_eq!(status_of(&plan, "oom_killed").0, Status::Firing);
    assert_eq!(status_of(&plan, "down").0, Status::Clearing);
}

#[test]
fn an_open_alert_stays_open_while_the_app_is_down() {
    let mut h = Harness::new();
    h.pass(&[("oom_killed", Level::Alert)]);
    h.pass(&[("down", Level::Critical)]);
    h.pass(&[("down", Level::Critical)]);
    let s = h.state("oom_killed").unwrap();
    assert!(
        s.open && s.clean_checks == 0,
        "not resolved by passes that could not see it: {s:?}"
    );
}

#[test]
fn rules_a_pass_could_not_judge_keep_their_state() {
    let mut h = Harness::new();
    h.pass(&[("oom_killed", Level::Alert)]);
    h.pass_with(&[], &["oom_killed"]);
    h.pass_with(&[], &["oom_killed"]);
    let s = h.state("oom_killed").unwrap();
    assert!(s.open && s.clean_checks == 0, "{s:?}");
}

#[test]
fn a_change_of_level_is_sent_as_an_update() {
    let mut h = Harness::new();
    h.pass(&[("proxy_error", Level::Alert)]);
    h.pass(&[("proxy_error", Level::Critical)]);
    h.pass(&[("proxy_error", Level::Critical)]);
    assert_eq!(
        h.sent(),
        [
            "trigger staging/hotdash-staging/proxy_error alert",
            "update staging/hotdash-staging/proxy_error critical"
        ]
    );
}

#[test]
fn warnings_are_reported_and_not_stored() {
    let mut h = Harness::new();
    let (plan, _) = h.pass(&[
        ("latency", Level::Warning),
        ("logs_unreadable", Level::Warning),
    ]);
    assert_eq!(status_of(&plan, "latency"), (Status::Seen, Level::Warning));
    assert!(!plan.needs_action());
    assert!(plan.decisions.is_empty());
    assert!(h.sent().is_empty());
}

#[test]
fn another_run_writing_first_wins_the_key() {
    let mut h = Harness::new();
    h.pass(&[("down", Level::Critical)]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let observed = vec![Observed {
        app: APP.into(),
        findings: Vec::new(),
        unknown: Vec::new(),
    }];
    let stored = rt.block_on(h.store.alerts(Some(ENV))).unwrap();
    let plan = plan(ENV, h.now, &h.policy, &observed, &stored);
    let key = plan.decisions[0].key.clone();
    h.store
        .tamper(&key, |s| s.summary = "written by another runner".into());
    let applied = rt.block_on(apply(&h.store, &h.sender, &plan));
    assert_eq!(applied.conflicts, vec![key]);
    assert_eq!(
        h.state("down").unwrap().summary,
        "written by another runner"
    );
}

#[test]
fn keys_of_other_apps_are_left_alone() {
    let mut h = Harness::new();
    h.pass(&[("down", Level::Critical)]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let stored = rt.block_on(h.store.alerts(Some(ENV))).unwrap();
    let other = vec![Observed {
        app: "hotdash-agent".into(),
        ..Observed::default()
    }];
    let plan = plan(ENV, h.now, &h.policy, &other, &stored);
    assert!(plan.decisions.is_empty());
}

#[test]
fn a_missed_scheduled_run_is_a_warning_naming_the_gap() {
    let every = Duration::from_secs(4 * 3600);
    let now = UNIX_EPOCH + Duration::from_secs(1_787_313_600);
    let last = now - Duration::from_secs(9 * 3600);
    let f = missed_run(ENV, Some(last), now, every).unwrap();
    assert_eq!(f.level, Level::Warning);
    assert_eq!(f.rule, "missed_run");
    assert!(
        f.summary.starts_with("the scheduled check of staging did not run between 2026-08-21T03:00:00Z and 2026-08-21T12:00:00Z"),
        "{}",
        f.summary
    );
    assert_eq!(
        missed_run(ENV, Some(now - every * 2), now, every),
        None,
        "exactly twice is on time"
    );
    assert_eq!(
        missed_run(ENV, None, now, every),
        None,
        "the first check has nothing to miss"
    );
}

#[test]
fn policy_defaults_are_the_runbooks_numbers() {
    let p = Policy::default();
    assert_eq!(p.alert_after("down"), Duration::ZERO);
    assert_eq!(p.alert_after("health_failing"), Duration::from_secs(300));
    assert_eq!(p.alert_after("slow"), Duration::from_secs(900));
    assert_eq!(p.alert_after("oom_killed"), Duration::ZERO);
    assert_eq!(p.resolve_after, 2);
    assert_eq!(p.latency_target, Duration::from_secs(2));
    assert_eq!(p.latency_alert, Duration::from_secs(5));
}
