//! The probe engine over real HTTP against the scripted server: what a probe measures, how it
//! fails, and the health gate against releases that change behaviour while it runs.

use std::future::Future;
use std::time::{Duration, Instant};

use shipit::printer::Printer;
use shipit::probe::condition::Condition;
use shipit::probe::stats::LatencyStats;
use shipit::probe::{GateReport, HttpProber, ProbeSpec, Prober, SystemClock, run_gate, sample};
use shipit::probe::{HealthSpec, PathSource};
use shipit::stop::Stop;

use crate::support::server::{Behaviour, Reply, Server, refused_url};

/// The health gate, with the real HTTP prober and clock, against `server`'s `/health`.
fn gate_on(server: &Server, spec: &HealthSpec) -> GateReport {
    block_on(async {
        let prober = HttpProber::new().unwrap();
        run_gate(
            &prober,
            &SystemClock::new(),
            spec,
            &server.url_for("/health"),
            &Stop::new(),
            &Printer::capturing(),
            "x",
        )
        .await
    })
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn probe(spec: &ProbeSpec) -> shipit::probe::ProbeResult {
    block_on(async { HttpProber::new().unwrap().probe(spec).await })
}

fn health(
    healthy: u32,
    unhealthy: u32,
    interval_ms: u64,
    deadline_ms: u64,
    expect: &[&str],
) -> HealthSpec {
    HealthSpec {
        path: "/health".into(),
        path_source: PathSource::Config,
        interval: Duration::from_millis(interval_ms),
        timeout: Duration::from_millis(500),
        healthy_after: healthy,
        unhealthy_after: unhealthy,
        deadline: Duration::from_millis(deadline_ms),
        expect: expect
            .iter()
            .map(|c| Condition::parse(c).unwrap())
            .collect(),
        headers: Vec::new(),
    }
}

#[test]
fn a_probe_measures_the_whole_answer_and_identifies_itself() {
    let server = Server::start([(
        "/health",
        Behaviour::Reply(
            Reply::new(200, r#"{"ok":true}"#)
                .header("X-Release", "v42")
                .delay(Duration::from_millis(60)),
        ),
    )]);
    let mut spec = ProbeSpec::get(&server.url_for("/health"), Duration::from_secs(2));
    spec.machine_id = Some("148ed193b95089".into());
    spec.headers
        .push(("Authorization".into(), "Bearer abc".into()));
    let r = probe(&spec);
    assert!(r.connected && r.error.is_none(), "{r:?}");
    assert_eq!(r.status, Some(200));
    assert!(r.latency >= Duration::from_millis(60), "{:?}", r.latency);
    assert_eq!(r.header("x-release"), Some("v42"));
    assert_eq!(r.body, br#"{"ok":true}"#);
    assert!(!r.body_truncated);
    assert_eq!(r.cert_expires_in, None, "plain HTTP has no certificate");
    let seen = &server.requests()[0];
    assert_eq!(seen.method, "GET");
    assert_eq!(
        seen.header("user-agent"),
        Some(concat!("shipit/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(seen.header("fly-force-instance-id"), Some("148ed193b95089"));
    assert_eq!(seen.header("authorization"), Some("Bearer abc"));
}

#[test]
fn bodies_are_sent_and_long_answers_are_cut() {
    let big = "x".repeat(100 * 1024);
    let server = Server::start([
        ("/big", Behaviour::ok(&big)),
        ("/echo", Behaviour::status(201)),
    ]);
    let r = probe(&ProbeSpec::get(
        &server.url_for("/big"),
        Duration::from_secs(2),
    ));
    assert_eq!(r.body.len(), 64 * 1024);
    assert!(r.body_truncated && r.error.is_none());
    let mut post = ProbeSpec::get(&server.url_for("/echo"), Duration::from_secs(2));
    post.method = "POST".into();
    post.body = Some(b"{\"a\":1}".to_vec());
    assert_eq!(probe(&post).status, Some(201));
    let seen = server
        .requests()
        .into_iter()
        .find(|r| r.target == "/echo")
        .unwrap();
    assert_eq!(
        (seen.method.as_str(), seen.body.as_slice()),
        ("POST", &b"{\"a\":1}"[..])
    );
}

#[test]
fn refused_closed_and_hanging_endpoints_are_no_answers_within_the_timeout() {
    let r = probe(&ProbeSpec::get(
        &format!("{}/health", refused_url()),
        Duration::from_secs(2),
    ));
    assert!(!r.connected && r.status.is_none());
    assert!(
        r.error.as_deref().unwrap().contains("refused"),
        "{:?}",
        r.error
    );

    let server = Server::start([("/close", Behaviour::Close), ("/hang", Behaviour::Hang)]);
    let r = probe(&ProbeSpec::get(
        &server.url_for("/close"),
        Duration::from_secs(2),
    ));
    assert!(!r.connected && r.error.is_some(), "{r:?}");

    let started = Instant::now();
    let r = probe(&ProbeSpec::get(
        &server.url_for("/hang"),
        Duration::from_millis(200),
    ));
    assert!(!r.connected);
    assert_eq!(r.error.as_deref(), Some("timed out after 200ms"));
    assert!(r.latency >= Duration::from_millis(200));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout bounds the probe"
    );
}

#[test]
fn one_client_reuses_its_connection() {
    let server = Server::start([("/health", Behaviour::ok("up"))]);
    let spec = health(3, 3, 10, 5_000, &["[STATUS] == 200"]);
    let records = block_on(async {
        let prober = HttpProber::new().unwrap();
        sample(
            &prober,
            &SystemClock::new(),
            &spec,
            &server.url_for("/health"),
            5,
            &Stop::new(),
        )
        .await
    });
    assert_eq!(records.len(), 5);
    assert!(records.iter().all(|r| r.pass));
    assert_eq!(
        server.connections(),
        1,
        "five probes over one kept-alive connection"
    );
}

#[test]
fn the_gate_fails_when_a_healthy_release_turns_to_500() {
    let server = Server::start([("/health", Behaviour::statuses([200, 200, 200, 500]))]);
    let spec = health(5, 2, 30, 5_000, &["[STATUS] == 200"]);
    let printer = Printer::capturing();
    let report = block_on(async {
        let prober = HttpProber::new().unwrap();
        run_gate(
            &prober,
            &SystemClock::new(),
            &spec,
            &server.url_for("/health"),
            &Stop::new(),
            &printer,
            "staging/web",
        )
        .await
    });
    assert!(!report.opened && !report.cancelled);
    assert_eq!(report.reason, "2 failures in a row: [STATUS] (500) == 200");
    assert_eq!(report.probes.len(), 5);
    assert!(report.first_failure_at.unwrap() >= Duration::from_millis(90));
    let lines = printer.captured();
    assert!(
        lines[3].contains("staging/web probe 4: 500 in "),
        "{lines:?}"
    );
    assert!(
        lines[3].ends_with("✗ [STATUS] (500) == 200 (1/2 failures)"),
        "{lines:?}"
    );
    let rec = report.gate_record("health", &spec);
    assert_eq!(
        rec.observed,
        "failed: 2 failures in a row: [STATUS] (500) == 200"
    );
}

#[test]
fn the_gate_waits_out_a_slow_start_and_opens() {
    let server = Server::start([(
        "/health",
        // The switch is counted from the server's start, and the prober's setup (trust roots)
        // comes after it: 600 ms leaves room for a loaded CI machine before the first probe.
        Behaviour::switch_after(
            Duration::from_millis(600),
            Behaviour::status(503),
            Behaviour::ok("up"),
        ),
    )]);
    let spec = health(
        2,
        100,
        30,
        3_000,
        &["[STATUS] == 200", "[BODY] contains up"],
    );
    let report = gate_on(&server, &spec);
    assert!(report.opened, "{}", report.reason);
    assert!(
        report.first_failure_at.unwrap() < Duration::from_millis(20),
        "the first probe failed"
    );
    assert!(report.probes.len() >= 4, "{}", report.probes.len());
    assert!(
        report
            .reason
            .starts_with(&format!("opened after {} probes in ", report.probes.len()))
    );
}

#[test]
fn a_flapping_release_never_opens_the_gate() {
    let server = Server::start([(
        "/health",
        Behaviour::cycle([Behaviour::ok("up"), Behaviour::status(502)]),
    )]);
    let spec = health(3, 3, 20, 400, &["[STATUS] == 200"]);
    let started = Instant::now();
    let report = gate_on(&server, &spec);
    assert!(!report.opened);
    assert!(
        report.reason.starts_with("no verdict within 400ms ("),
        "{}",
        report.reason
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(report.probes.len() >= 6, "{}", report.probes.len());
}

#[test]
fn slow_answers_fail_latency_conditions_and_time_out() {
    let server = Server::start([("/health", Behaviour::slow(Duration::from_millis(120), "up"))]);
    let spec = health(
        2,
        2,
        10,
        5_000,
        &["[STATUS] == 200", "[RESPONSE_TIME] < 50ms"],
    );
    let report = gate_on(&server, &spec);
    assert!(!report.opened);
    assert!(
        report
            .reason
            .starts_with("2 failures in a row: [RESPONSE_TIME] ("),
        "{}",
        report.reason
    );
    assert!(report.reason.ends_with(") < 50ms"), "{}", report.reason);

    let mut spec = health(2, 2, 10, 5_000, &["[STATUS] == 200"]);
    spec.timeout = Duration::from_millis(40);
    let report = gate_on(&server, &spec);
    assert_eq!(
        report.reason,
        "2 failures in a row: [STATUS] (no answer) == 200"
    );
    assert_eq!(
        report.probes[0].error.as_deref(),
        Some("timed out after 40ms")
    );
}

#[test]
fn a_stop_ends_a_gate_stuck_on_a_hanging_endpoint() {
    let server = Server::start([("/health", Behaviour::Hang)]);
    let mut spec = health(3, 3, 50, 60_000, &["[STATUS] == 200"]);
    spec.timeout = Duration::from_secs(30);
    let started = Instant::now();
    let report = block_on(async {
        let prober = HttpProber::new().unwrap();
        let stop = Stop::new();
        let trigger = stop.clone();
        let printer = Printer::capturing();
        let clock = SystemClock::new();
        let url = server.url_for("/health");
        let (report, ()) = tokio::join!(
            run_gate(&prober, &clock, &spec, &url, &stop, &printer, "x"),
            async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                trigger.trigger("cancelled by SIGTERM");
            }
        );
        report
    });
    assert!(report.cancelled && !report.opened);
    assert_eq!(report.reason, "cancelled by SIGTERM");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_sample_gives_latency_figures_for_the_regression_gate() {
    let server = Server::start([("/health", Behaviour::slow(Duration::from_millis(20), "up"))]);
    let spec = health(3, 3, 10, 5_000, &["[STATUS] == 200"]);
    let records = block_on(async {
        let prober = HttpProber::new().unwrap();
        sample(
            &prober,
            &SystemClock::new(),
            &spec,
            &server.url_for("/health"),
            6,
            &Stop::new(),
        )
        .await
    });
    let stats = LatencyStats::from_records(&records);
    assert_eq!((stats.count, stats.failures, stats.answered), (6, 0, 6));
    assert!(
        stats.p50 >= Duration::from_millis(20) && stats.p95 >= stats.p50 && stats.max >= stats.p95,
        "{stats:?}"
    );
}
