//! `shipit report` through the real binary: the static site read back in headless Chromium
//! (rendered DOM, no request outside the page, chart points, screenshots at phone and desktop
//! widths that are not blank), `--json`, the terminal summary, and an HTML snapshot.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shipit::event::Event;
use shipit::exit::Outcome;
use shipit::probe::stats::LatencyStats;
use shipit::report::{LatencySample, ReleaseRef, RunKind, RunRecord, ServiceRecord, ServiceResult};

use crate::support::Project;
use crate::support::chromium::{Chromium, pixel_variance};

const T0: u64 = 1_795_000_000;

fn at(secs: u64) -> String {
    shipit::timefmt::rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
}

fn service(env: &str, name: &str, app: &str, result: ServiceResult, v: u64) -> ServiceRecord {
    let mut s = ServiceRecord::new(env, name, app, &format!("https://{app}.fly.dev"));
    s.result = result;
    let image = format!("registry.fly.io/{app}:deployment-v{v}");
    s.from = Some(ReleaseRef {
        version: Some(v - 1),
        image: format!("registry.fly.io/{app}:deployment-v{}", v - 1),
    });
    s.to = Some(ReleaseRef {
        version: Some(v),
        image: image.clone(),
    });
    s.live = Some(ReleaseRef {
        version: Some(v),
        image,
    });
    s
}

fn record(
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
        finished_at: at(secs + 90),
        duration_ms: 90_000,
        outcome,
        event: Event::Succeeded,
        services,
        summary: format!("{} {id}", kind.name()),
        run_url: Some("https://github.com/acme/hotdash/actions/runs/7".into()),
        sha: Some("0123abc".into()),
        actor: Some("octocat".into()),
    }
}

/// A record: deploys of two environments (one rolled back), and `checks` health checks of
/// staging/web with latency samples.
fn fixture(p: &Project, checks: u64) {
    p.write("shipit.yml", "version: 1\napps: {}\nenvironments: {}\n");
    let runs = p.file(".shipit/runs");
    let mut all = vec![
        record(
            "20261201T100000Z-a1",
            RunKind::Deploy,
            T0,
            Outcome::Success,
            vec![
                service(
                    "staging",
                    "web",
                    "hotdash-staging",
                    ServiceResult::Succeeded,
                    41,
                ),
                service(
                    "staging",
                    "agent",
                    "hotdash-agent-service",
                    ServiceResult::Succeeded,
                    7,
                ),
            ],
        ),
        record(
            "20261201T110000Z-a2",
            RunKind::Deploy,
            T0 + 3_600,
            Outcome::RolledBack,
            {
                let mut s = service(
                    "staging",
                    "web",
                    "hotdash-staging",
                    ServiceResult::RolledBack,
                    42,
                );
                s.live = s.from.clone();
                s.decision = Some("roll back: health gate failed: 3 failures in a row".into());
                vec![s]
            },
        ),
        record(
            "20261201T120000Z-a3",
            RunKind::Deploy,
            T0 + 7_200,
            Outcome::Success,
            vec![service(
                "production",
                "web",
                "hotdash-production",
                ServiceResult::Succeeded,
                12,
            )],
        ),
    ];
    // A cost run before the deploys: what staging's two apps cost and one way to save.
    all.push(record(
        "20261201T090000Z-k1",
        RunKind::Cost,
        T0 - 3_600,
        Outcome::Success,
        [
            ("web", "hotdash-staging", "$11.39/month", vec![
                "hotdash-staging (staging) runs 2 machines around the clock with autostop off: with `auto_stop_machines = \"stop\"` in its fly.toml they stop when idle, saving up to $11.09/month".to_owned(),
            ]),
            ("agent", "hotdash-agent-service", "$7.65/month", Vec::new()),
        ]
        .into_iter()
        .map(|(name, app, observed, details)| {
            let mut s = ServiceRecord::new("staging", name, app, &format!("https://{app}.fly.dev"));
            s.result = ServiceResult::Succeeded;
            s.gates.push(shipit::report::GateRecord {
                name: "cost".into(),
                rule: "Fly prices read 2026-08-21".into(),
                observed: observed.into(),
                verdict: shipit::report::Verdict::Warn,
                details,
            });
            s
        })
        .collect(),
    ));
    for i in 0..checks {
        let mut s = service(
            "staging",
            "web",
            "hotdash-staging",
            ServiceResult::Succeeded,
            41,
        );
        s.latency.push(LatencySample {
            what: "check".into(),
            at: at(T0 + 8_000 + i * 600),
            stats: LatencyStats {
                count: 10,
                failures: u32::from(i % 7 == 0),
                error_rate: if i % 7 == 0 { 0.1 } else { 0.0 },
                answered: 10,
                p50: Duration::from_millis(40 + i % 5),
                p95: Duration::from_millis(90 + (i * 13) % 40),
                max: Duration::from_millis(150),
            },
        });
        all.push(record(
            &format!("20261201T13{i:04}Z-c"),
            RunKind::Health,
            T0 + 8_000 + i * 600,
            Outcome::Success,
            vec![s],
        ));
    }
    for r in &all {
        shipit::evidence::receipt::write(&runs, r).expect("write a receipt");
    }
    // An open alert that began two hours ago, a resolved one, and a promotion, written through
    // the record's own interface.
    let settings = shipit::evidence::settings_for(&p.file("shipit.yml")).unwrap();
    let store = shipit::store::local::LocalStore::new(&settings);
    let now = SystemTime::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use shipit::store::{AlertKey, AlertState, Promotion, Store as _};
        for (rule, open, ago) in [("http_5xx", true, 7_200), ("latency", false, 90_000)] {
            let key = AlertKey {
                env: "staging".into(),
                app: "hotdash-staging".into(),
                rule: rule.into(),
            };
            let first = shipit::timefmt::rfc3339(now - Duration::from_secs(ago));
            let state = AlertState {
                level: "critical".into(),
                open,
                first_seen: first.clone(),
                last_seen: first,
                summary: format!("{rule}: HTTP 503 from /health"),
                ..AlertState::default()
            };
            store.put_alert(&key, None, Some(&state)).await.unwrap();
        }
        store
            .add_promotion(&Promotion {
                env: "production".into(),
                service: "web".into(),
                app: "hotdash-production".into(),
                image: "registry.fly.io/hotdash-production:deployment-v12".into(),
                version: Some(12),
                run_id: "20261201T120000Z-a3".into(),
                at: at(T0 + 7_290),
                all_gates_passed: true,
                proved_by: Some("20261201T100000Z-a1".into()),
            })
            .await
            .unwrap();
    });
}

/// Where screenshots go: the tests' own output folder under target/.
fn output_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The part of `dom` from the element opening with `start` to the next `end`.
fn section<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let from = dom
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in the page"));
    let rest = &dom[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn the_page_renders_in_chromium_from_file_with_no_request_and_its_charts_and_screenshots() {
    let p = Project::new();
    fixture(&p, 30);
    p.run(&["report", "--html", "site"])
        .code(0)
        .stderr_has("wrote");
    let index = p.file("site/index.html");
    let chromium = Chromium::find();
    let load = chromium.load(&index);
    assert!(
        load.page_requests.is_empty(),
        "the page asked for {:?}",
        load.page_requests
    );
    let staging = section(&load.dom, r#"data-env="staging""#, "</table>");
    let web = section(staging, r#"data-app="hotdash-staging""#, "</tr>");
    assert!(
        web.contains("v41") && web.contains("hotdash-staging:deployment-v41"),
        "{web}"
    );
    assert!(
        web.contains("20261201T110000Z-a2"),
        "the rollback put v41 back: {web}"
    );
    assert!(
        web.contains(r#"class="badge failing""#),
        "an open alert marks it failing: {web}"
    );
    let alerts = section(&load.dom, r#"<table class="alerts""#, "</table>");
    assert_eq!(
        alerts.matches(r#"class="alert-row""#).count(),
        1,
        "only the open one: {alerts}"
    );
    assert!(
        alerts.contains("http_5xx") && alerts.contains("2h 0m"),
        "{alerts}"
    );
    let promotions = section(&load.dom, r#"id="promotions""#, "</table>");
    assert!(promotions.contains("20261201T100000Z-a1"), "{promotions}");
    let cost = section(&load.dom, r#"<table class="cost""#, "</ul>");
    assert_eq!(cost.matches(r#"class="cost-row""#).count(), 2, "{cost}");
    assert!(
        cost.contains("$19.04") && cost.contains("$11.39") && cost.contains("autostop off"),
        "{cost}"
    );
    let prod = section(&load.dom, r#"data-env="production""#, "</table>");
    assert!(prod.contains("v12"), "{prod}");
    // 30 samples: p50 and p95 markers, one per sample each.
    let chart = section(
        &load.dom,
        r#"<figure class="latency" data-app="hotdash-staging""#,
        "</figure>",
    );
    assert_eq!(chart.matches(r#"class="point""#).count(), 60, "{chart}");
    assert!(
        chart.contains("ms</text>"),
        "the value axis carries its unit"
    );
    // A run page opens from the index's link (the page of the run's day, at its section) and
    // shows the decision.
    assert!(
        load.dom
            .contains(r#"href="run/20261201.html#20261201T110000Z-a2""#),
        "the index links the run's section"
    );
    let run_page = p.file("site/run/20261201.html");
    let run = chromium.load(&run_page);
    assert!(run.page_requests.is_empty());
    assert!(
        run.dom.contains("roll back: health gate failed"),
        "{}",
        run.dom
    );

    let out = output_dir();
    for (w, h) in [(390, 844), (1280, 2600)] {
        let shot = out.join(format!("index-{w}x{h}.png"));
        chromium.screenshot(&index, w, h, &shot);
        let variance = pixel_variance(&shot);
        assert!(
            variance > 50.0,
            "the {w}px screenshot looks blank (variance {variance})"
        );
    }
}

#[test]
fn the_request_check_sees_a_page_that_asks_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        r#"<!doctype html><img src="http://127.0.0.1:9/pixel.png"><p>x</p>"#,
    )
    .unwrap();
    let load = Chromium::find().load(&page);
    assert_eq!(load.page_requests, ["http://127.0.0.1:9/pixel.png"]);
}

#[test]
fn json_is_one_document_with_what_the_page_shows() {
    let p = Project::new();
    fixture(&p, 3);
    let run = p.run(&["report", "--json"]);
    run.code(0);
    let doc = run.json();
    let envs: Vec<&str> = doc["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["production", "staging"]);
    assert_eq!(doc["timeline"].as_array().unwrap().len(), 3);
    assert_eq!(doc["timeline"][0]["run_id"], "20261201T120000Z-a3");
    assert_eq!(doc["latency"][0]["points"].as_array().unwrap().len(), 3);
    assert_eq!(doc["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(doc["alerts"][0]["rule"], "http_5xx");
    assert_eq!(doc["promotions"][0]["proved_by"], "20261201T100000Z-a1");
    assert_eq!(doc["cost"]["total"], 19.04);
    assert_eq!(doc["cost"]["environments"][0]["env"], "staging");
    assert_eq!(doc["cost"]["findings"][0]["monthly_saving"], 11.09);
    assert_eq!(doc["cost"]["possible_saving"], 11.09);
    for key in [
        "generated_at",
        "store",
        "runs",
        "alerts",
        "drills",
        "database",
        "promotions",
        "cost",
    ] {
        assert!(doc.get(key).is_some(), "{key} missing");
    }
}

#[test]
fn the_terminal_summary_lists_each_app() {
    let p = Project::new();
    fixture(&p, 1);
    let run = p.run(&["report", "--env", "staging"]);
    run.code(0)
        .stdout_has("staging")
        .stdout_has("hotdash-staging:deployment-v41")
        .stdout_has("last deploy:");
    assert!(!run.stdout.contains("production"), "{}", run.stdout);
}

#[test]
fn an_empty_record_makes_a_page_that_says_so() {
    let p = Project::new();
    p.write("shipit.yml", "version: 1\napps: {}\nenvironments: {}\n");
    p.run(&["report", "--html", "site"]).code(0);
    assert!(
        p.read("site/index.html")
            .contains("The record holds no runs yet")
    );
}

/// The generated HTML for a small fixture, whole, so a change of the page is seen in review
/// (`UPDATE_SNAPSHOTS=1` rewrites it). The generation time is filtered.
#[test]
fn html_snapshot() {
    let p = Project::new();
    fixture(&p, 2);
    p.run(&["report", "--html", "site"]).code(0);
    for (file, snap) in [
        ("site/index.html", "index.html"),
        ("site/run/20261201.html", "run.html"),
    ] {
        let text = p.read(file);
        let re = regex_lite::Regex::new(r"Made \S+ from").unwrap();
        let text = re.replace(&text, "Made [TIME] from").into_owned();
        // The fixture's alerts began relative to now.
        let since = regex_lite::Regex::new(r#"title="since [^"]*""#).unwrap();
        let text = since
            .replace_all(&text, r#"title="since [TIME]""#)
            .into_owned();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/snapshots/report")
            .join(snap);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!(
                "no snapshot {}: run with UPDATE_SNAPSHOTS=1",
                path.display()
            )
        });
        assert_eq!(
            text, want,
            "{snap} changed: review and rerun with UPDATE_SNAPSHOTS=1"
        );
    }
    let _ = SystemTime::now();
}
