use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::event::Event;
use crate::exit::Outcome;
use crate::probe::stats::LatencyStats;
use crate::report::{LatencySample, RunKind, RunRecord, ServiceRecord, ServiceResult};

fn at(secs: u64) -> String {
    timefmt::rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
}

const T0: u64 = 1_795_000_000;

fn stats(p50: u64, p95: u64, err: f64) -> LatencyStats {
    LatencyStats {
        count: 10,
        failures: (err * 10.0) as u32,
        error_rate: err,
        answered: 10,
        p50: Duration::from_millis(p50),
        p95: Duration::from_millis(p95),
        max: Duration::from_millis(p95 + 5),
    }
}

fn run(
    id: &str,
    kind: RunKind,
    secs: u64,
    outcome: Outcome,
    services: Vec<ServiceRecord>,
) -> RunRecord {
    RunRecord {
        id: id.to_owned(),
        kind,
        env: services.first().map(|s| s.env.clone()),
        started_at: at(secs),
        finished_at: at(secs + 60),
        duration_ms: 60_000,
        outcome,
        event: Event::Succeeded,
        services,
        summary: format!("run {id}"),
        run_url: None,
        sha: None,
        actor: None,
    }
}

fn svc(env: &str, name: &str, result: ServiceResult, live: u64, image: &str) -> ServiceRecord {
    let mut s = ServiceRecord::new(env, name, &format!("hotdash-{env}-{name}"), "http://x");
    s.result = result;
    s.live = Some(ReleaseRef {
        version: Some(live),
        image: image.to_owned(),
    });
    s
}

fn input<'a>(
    runs: &'a [RunRecord],
    alerts: &'a [(AlertKey, Versioned<AlertState>)],
    filter: &'a Filter,
) -> Input<'a> {
    Input {
        store: "local (.shipit/runs)".into(),
        runs,
        alerts,
        promotions: Vec::new(),
        now: UNIX_EPOCH + Duration::from_secs(T0 + 10_000),
        filter,
    }
}

#[test]
fn the_newest_run_decides_what_is_live_and_the_newest_change_who_deployed_it() {
    let runs = vec![
        run(
            "r1",
            RunKind::Deploy,
            T0,
            Outcome::Success,
            vec![svc("staging", "web", ServiceResult::Succeeded, 7, "img:7")],
        ),
        run(
            "r2",
            RunKind::Deploy,
            T0 + 100,
            Outcome::RolledBack,
            vec![svc("staging", "web", ServiceResult::RolledBack, 9, "img:7")],
        ),
        run(
            "r3",
            RunKind::Health,
            T0 + 200,
            Outcome::Success,
            vec![svc("staging", "web", ServiceResult::Succeeded, 9, "img:7")],
        ),
        run(
            "p1",
            RunKind::Deploy,
            T0 + 50,
            Outcome::Success,
            vec![svc(
                "production",
                "web",
                ServiceResult::Succeeded,
                3,
                "img:3",
            )],
        ),
    ];
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    assert_eq!(d.environments.len(), 2);
    let staging = d.environments.iter().find(|e| e.name == "staging").unwrap();
    let web = &staging.apps[0];
    assert_eq!(web.live.as_ref().unwrap().version, Some(9));
    assert_eq!(
        web.deployed_by.as_deref(),
        Some("r2"),
        "the rollback put v9 there"
    );
    assert_eq!(web.last.as_ref().unwrap().kind, "health");
    assert_eq!(web.health, "ok");
    // The timeline holds deploy-like runs only, newest first.
    let ids: Vec<&str> = d.timeline.iter().map(|t| t.run_id.as_str()).collect();
    assert_eq!(ids, ["r2", "p1", "r1"]);
    assert_eq!(d.timeline[0].outcome, "rolled_back");
}

#[test]
fn open_alerts_have_their_age_and_mark_the_app_failing() {
    let runs = vec![run(
        "r1",
        RunKind::Deploy,
        T0,
        Outcome::Success,
        vec![svc("staging", "web", ServiceResult::Succeeded, 7, "img:7")],
    )];
    let alert = |rule: &str, open: bool, first: u64| {
        (
            AlertKey {
                env: "staging".into(),
                app: "hotdash-staging-web".into(),
                rule: rule.into(),
            },
            Versioned {
                version: 1,
                value: AlertState {
                    level: "critical".into(),
                    open,
                    first_seen: at(first),
                    last_seen: at(first + 10),
                    summary: "HTTP 503 from /health".into(),
                    ..AlertState::default()
                },
            },
        )
    };
    let alerts = vec![
        alert("down", true, T0 + 10_000 - 3_700),
        alert("latency", false, T0),
    ];
    let f = Filter::default();
    let d = build(&input(&runs, &alerts, &f));
    assert_eq!(d.alerts.len(), 1, "a resolved alert is not shown");
    assert_eq!(d.alerts[0].age_secs, 3_700);
    assert_eq!(age(d.alerts[0].age_secs), "1h 1m");
    let web = &d.environments[0].apps[0];
    assert_eq!((web.open_alerts, web.health), (1, "failing"));
}

#[test]
fn the_filter_keeps_one_environment_and_a_time_window() {
    let runs = vec![
        run(
            "old",
            RunKind::Deploy,
            T0,
            Outcome::Success,
            vec![svc("staging", "web", ServiceResult::Succeeded, 1, "a")],
        ),
        run(
            "new",
            RunKind::Deploy,
            T0 + 9_000,
            Outcome::Success,
            vec![svc("staging", "web", ServiceResult::Succeeded, 2, "b")],
        ),
        run(
            "prod",
            RunKind::Deploy,
            T0 + 9_500,
            Outcome::Success,
            vec![svc("production", "web", ServiceResult::Succeeded, 3, "c")],
        ),
    ];
    let f = Filter {
        env: Some("staging".into()),
        since: Some(Duration::from_secs(2_000)),
    };
    let d = build(&input(&runs, &[], &f));
    assert_eq!(d.runs, 1);
    assert_eq!(d.timeline[0].run_id, "new");
    assert_eq!(d.environments.len(), 1);
    assert_eq!(d.since.as_deref(), Some("33m20s"));
}

#[test]
fn latency_is_downsampled_to_at_most_max_points_keeping_the_worst_p95() {
    let mut runs = Vec::new();
    for i in 0..1_000u64 {
        let mut s = svc("staging", "web", ServiceResult::Succeeded, 1, "a");
        let p95 = if i == 500 { 5_000 } else { 100 };
        s.latency.push(LatencySample {
            what: "check".into(),
            at: at(T0 + i * 60),
            stats: stats(40, p95, 0.0),
        });
        runs.push(run(
            &format!("c{i:04}"),
            RunKind::Health,
            T0 + i * 60,
            Outcome::Success,
            vec![s],
        ));
    }
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    let series = &d.latency[0];
    assert_eq!(series.samples, 1_000);
    assert!(series.points.len() <= MAX_POINTS && series.points.len() > MAX_POINTS / 2);
    assert!(
        series
            .points
            .iter()
            .any(|p| (p.p95_ms - 5_000.0).abs() < 1e-9),
        "a spike survives"
    );
    assert!(series.points.windows(2).all(|w| w[0].t < w[1].t));
}

#[test]
fn few_samples_are_kept_as_they_are() {
    let pts = downsample(&[(1, 10.0, 20.0, 0.0), (2, 11.0, 21.0, 50.0)], 10);
    assert_eq!(pts.len(), 2);
    assert!((pts[1].error_pct - 50.0).abs() < 1e-9);
    assert!(downsample(&[], 10).is_empty());
}

#[test]
fn secrets_in_the_record_never_reach_the_dashboard_or_its_pages() {
    let secret = "dashboard-secret-value-8812";
    crate::secret::register(secret);
    let mut s = svc(
        "staging",
        "web",
        ServiceResult::RollbackFailed,
        1,
        &format!("registry/app:{secret}"),
    );
    s.reason = Some(format!("flyctl said {secret}"));
    let mut r = run("r1", RunKind::Deploy, T0, Outcome::NeedsHuman, vec![s]);
    r.summary = format!("failed with {secret}");
    let runs = vec![r];
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    let json = serde_json::to_string(&d).unwrap();
    assert!(!json.contains(secret), "{json}");
    let refs: Vec<&RunRecord> = runs.iter().collect();
    for (path, text) in html::render(&d, &refs) {
        assert!(!text.contains(secret), "{path}");
    }
}

#[test]
fn foreign_text_cannot_inject_markup() {
    let mut s = svc(
        "staging",
        "web",
        ServiceResult::RolledBack,
        1,
        "img\"><script>alert(1)</script>",
    );
    s.reason = Some("<img src=x onerror=alert(1)>".into());
    let runs = vec![run("r1", RunKind::Deploy, T0, Outcome::RolledBack, vec![s])];
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    let refs: Vec<&RunRecord> = runs.iter().collect();
    for (path, text) in html::render(&d, &refs) {
        assert!(!text.contains("<script"), "{path}");
        assert!(!text.contains("<img"), "{path}");
    }
}

#[test]
fn every_deploy_is_on_a_run_list_page_and_has_its_own_section() {
    // One run every 5 minutes for 100 hours, with ids as `timefmt::run_id` writes them.
    let runs: Vec<RunRecord> = (0..1_200u64)
        .map(|i| {
            let t = UNIX_EPOCH + Duration::from_secs(T0 + i * 300);
            run(
                &format!("{}-{i:05}", &timefmt::run_id(t)[..16]),
                RunKind::Deploy,
                T0 + i * 300,
                Outcome::Success,
                vec![svc("staging", "web", ServiceResult::Succeeded, i, "a")],
            )
        })
        .collect();
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    let refs: Vec<&RunRecord> = runs.iter().collect();
    let files = html::render(&d, &refs);
    let lists: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("runs-"))
        .collect();
    assert_eq!(lists.len(), 3, "500 a page");
    let rows: usize = lists
        .iter()
        .map(|(_, t)| t.matches(r#"class="run-row""#).count())
        .sum();
    assert_eq!(rows, 1_200);
    // Grouped by the day in the id: 100 hours touch 5 or 6 days.
    let pages: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, _)| p.starts_with("run/"))
        .collect();
    assert!((5..=6).contains(&pages.len()), "{}", pages.len());
    let sections: usize = pages
        .iter()
        .map(|(_, t)| t.matches(r#"<article class="run""#).count())
        .sum();
    assert_eq!(sections, 1_200, "every run has its own section, once");
    // Every link of the run lists leads to a page that holds that run's section.
    for (_, list) in &lists {
        for link in list.split(r#"<a href=""#).skip(1) {
            let href = &link[..link.find('"').unwrap()];
            let Some((file, anchor)) = href.split_once('#') else {
                continue;
            };
            let (_, page) = files.iter().find(|(p, _)| p == file).unwrap_or_else(|| {
                panic!("{href} leads to no page");
            });
            assert!(page.contains(&format!(r#"id="{anchor}""#)), "{href}");
        }
    }
    let index = &files[0].1;
    assert_eq!(index.matches(r#"class="run-row""#).count(), 50);
    assert!(index.contains(r#"href="runs-1.html""#));
}

#[test]
fn sections_appear_only_when_their_data_exists() {
    let runs = vec![run(
        "r1",
        RunKind::Deploy,
        T0,
        Outcome::Success,
        vec![svc("staging", "web", ServiceResult::Succeeded, 1, "a")],
    )];
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    let index = &html::render(&d, &[])[0].1;
    for absent in [
        "id=\"alerts\"",
        "id=\"latency\"",
        "id=\"drills\"",
        "id=\"database\"",
        "id=\"promotions\"",
    ] {
        assert!(!index.contains(absent), "{absent}");
    }
    assert!(index.contains("id=\"glance\"") && index.contains("id=\"deploys\""));
}

#[test]
fn the_terminal_summary_names_each_app_and_the_last_deploy() {
    let runs = vec![run(
        "r1",
        RunKind::Deploy,
        T0,
        Outcome::Success,
        vec![svc("staging", "web", ServiceResult::Succeeded, 7, "img:7")],
    )];
    let f = Filter::default();
    let text = terminal::summary(&build(&input(&runs, &[], &f)));
    assert!(text.contains("staging"), "{text}");
    assert!(
        text.contains("web") && text.contains("v7 (img:7)"),
        "{text}"
    );
    assert!(
        text.contains("last deploy:") && text.contains("r1"),
        "{text}"
    );
    let _ = SystemTime::now();
}

#[test]
fn database_findings_are_counted_by_level_from_db_verify_runs() {
    let mut s = svc("staging", "database", ServiceResult::Unhealthy, 1, "-");
    s.gates.push(crate::report::GateRecord {
        name: "database".into(),
        rule: "db verify passes".into(),
        observed: "1 ERROR, 2 WARN".into(),
        verdict: crate::report::Verdict::Fail,
        details: vec![
            "ERROR  rls_disabled_in_public  public.picker_payments: RLS is off".into(),
            "WARN   unindexed_foreign_keys  public.picker_payments: fk without index".into(),
            "WARN   no_primary_key  public.audit: no primary key".into(),
            "INFO   duplicate_index  public.x: same as y".into(),
        ],
    });
    let runs = vec![run("v1", RunKind::DbVerify, T0, Outcome::Failed, vec![s])];
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    assert_eq!(d.database.len(), 1);
    assert_eq!((d.database[0].errors, d.database[0].warnings), (1, 2));
    assert!(d.database[0].findings[0].contains("rls_disabled_in_public"));
}

#[test]
fn a_drill_point_is_the_time_until_the_previous_release_passed_its_gates() {
    let drilled = |ms: Option<u64>| {
        let mut s = svc("staging", "web", ServiceResult::Succeeded, 5, "img:3");
        s.steps.push(crate::report::StepRecord {
            name: "rollback".into(),
            started_at: at(T0),
            duration_ms: 900,
            ok: true,
            detail: String::new(),
        });
        // The forward deploy's own steps never count as the drill's rollback.
        s.steps.push(crate::report::StepRecord {
            name: "forward deploy".into(),
            started_at: at(T0),
            duration_ms: 50_000,
            ok: true,
            detail: String::new(),
        });
        s.drill = Some(crate::drill::DrillRecord {
            original: ReleaseRef {
                version: Some(3),
                image: "img:3".into(),
            },
            rolled_back_to: ReleaseRef {
                version: Some(2),
                image: "img:2".into(),
            },
            detect_ms: 0,
            rollback_ms: Some(900),
            rollback_healthy_ms: ms,
            restore_ms: ms.map(|_| 2_000),
            rollback_healthy: ms.is_some(),
            restore_healthy: ms.map(|_| true),
            finish_by_hand: Vec::new(),
        });
        s
    };
    let runs = vec![
        run(
            "d2",
            RunKind::Drill,
            T0 + 100,
            Outcome::NeedsHuman,
            vec![drilled(None)],
        ),
        run(
            "d1",
            RunKind::Drill,
            T0,
            Outcome::Success,
            vec![drilled(Some(1_450))],
        ),
    ];
    let f = Filter::default();
    let d = build(&input(&runs, &[], &f));
    let points: Vec<(&str, f64, bool)> = d
        .drills
        .iter()
        .map(|p| (p.run_id.as_str(), p.rollback_secs, p.healthy))
        .collect();
    assert_eq!(points, [("d1", 1.5, true), ("d2", 0.9, false)]);
}
