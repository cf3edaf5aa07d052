use super::*;
use crate::report::{GateRecord, ReleaseRef};
use crate::store::memory::MemoryStore;

const IMG: &str = "registry.fly.io/web-staging:deployment-01PROVEN";

fn gate(name: &str, verdict: Verdict) -> GateRecord {
    GateRecord {
        name: name.into(),
        rule: String::new(),
        observed: String::new(),
        verdict,
        details: Vec::new(),
    }
}

/// A staging deploy run of `image` that finished at `at` with these gates.
fn run(
    id: &str,
    at: &str,
    image: &str,
    result: ServiceResult,
    gates: Vec<GateRecord>,
) -> RunRecord {
    let mut s = ServiceRecord::new(
        "staging",
        "web",
        "web-staging",
        "https://web-staging.fly.dev",
    );
    s.result = result;
    s.to = Some(ReleaseRef {
        version: Some(42),
        image: image.into(),
    });
    if result == ServiceResult::Succeeded {
        s.live.clone_from(&s.to);
    }
    s.gates = gates;
    let mut r =
        crate::commands::new_record(RunKind::Deploy, Some("staging".into()), SystemTime::now());
    r.id = id.into();
    r.started_at = at.into();
    r.finished_at = at.into();
    r.services = vec![s];
    r
}

fn all_pass() -> Vec<GateRecord> {
    ["fleet", "health", "regression", "smoke"]
        .into_iter()
        .map(|n| gate(n, Verdict::Pass))
        .collect()
}

/// Records a run the way a finished deploy does: the run, then its promotion.
async fn record(store: &MemoryStore, r: &RunRecord) {
    store.append_run(r).await.unwrap();
    if let Some(p) = promotion_for(r, &r.services[0], None, &[]) {
        store.add_promotion(&p).await.unwrap();
    }
}

fn now() -> SystemTime {
    crate::timefmt::parse_rfc3339("2026-12-02T12:00:00Z").unwrap()
}

async fn verdict(
    store: &MemoryStore,
    images: &[&str],
    max_age: Option<Duration>,
) -> Result<Promotion, Box<Refusal>> {
    let images: Vec<String> = images.iter().map(|s| (*s).to_owned()).collect();
    let c = Candidate {
        env: "staging",
        service: "web",
        images: &images,
    };
    check(store, &c, max_age, now()).await.unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_successful_run_of_exactly_that_image_with_every_gate_proves_it() {
    block_on(async {
        let store = MemoryStore::default();
        record(
            &store,
            &run(
                "r1",
                "2026-12-01T10:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                all_pass(),
            ),
        )
        .await;
        let p = verdict(&store, &[IMG], None).await.unwrap();
        assert_eq!(
            (p.run_id.as_str(), p.image.as_str(), p.all_gates_passed),
            ("r1", IMG, true)
        );
        // A warning is a verdict, not a gap.
        let mut gates = all_pass();
        gates[2].verdict = Verdict::Warn;
        record(
            &store,
            &run(
                "r2",
                "2026-12-01T11:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                gates,
            ),
        )
        .await;
        assert_eq!(
            verdict(&store, &[IMG], None).await.unwrap().run_id,
            "r2",
            "the newest proving run"
        );
    });
}

#[test]
fn no_run_of_the_image_is_refused() {
    block_on(async {
        let store = MemoryStore::default();
        let e = verdict(&store, &[IMG], None).await.unwrap_err();
        assert!(matches!(*e, Refusal::NoRun { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.starts_with("no staging run of registry.fly.io/web-staging:deployment-01PROVEN is in the record\nhint: deploy it to staging first"), "{text}");
    });
}

#[test]
fn a_failed_gate_is_refused_and_named() {
    block_on(async {
        let store = MemoryStore::default();
        let mut gates = all_pass();
        gates[3].verdict = Verdict::Fail;
        record(
            &store,
            &run(
                "r1",
                "2026-12-01T10:00:00Z",
                IMG,
                ServiceResult::RolledBack,
                gates,
            ),
        )
        .await;
        let e = verdict(&store, &[IMG], None).await.unwrap_err();
        assert_eq!(
            *e,
            Refusal::FailedGate {
                env: "staging".into(),
                service: "web".into(),
                image: IMG.into(),
                run_id: "r1".into(),
                failed: "smoke".into()
            }
        );
        assert!(e.to_string().contains("did not pass its gates: smoke"));
        // A cancelled run failed no gate; it says how it ended.
        record(
            &store,
            &run(
                "r2",
                "2026-12-01T11:00:00Z",
                IMG,
                ServiceResult::Cancelled,
                vec![],
            ),
        )
        .await;
        let e = verdict(&store, &[IMG], None).await.unwrap_err();
        assert!(e.to_string().contains("the run ended cancelled"), "{e}");
    });
}

#[test]
fn a_skipped_gate_is_refused() {
    block_on(async {
        let store = MemoryStore::default();
        let mut gates = all_pass();
        gates[3].verdict = Verdict::Skipped;
        record(
            &store,
            &run(
                "r1",
                "2026-12-01T10:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                gates,
            ),
        )
        .await;
        let e = verdict(&store, &[IMG], None).await.unwrap_err();
        assert!(
            matches!(&*e, Refusal::SkippedGate { skipped, .. } if skipped == "smoke"),
            "{e:?}"
        );
        // No gate at all is not "every gate passed" either.
        let store = MemoryStore::default();
        record(
            &store,
            &run(
                "r1",
                "2026-12-01T10:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                vec![],
            ),
        )
        .await;
        let e = verdict(&store, &[IMG], None).await.unwrap_err();
        assert!(
            matches!(&*e, Refusal::SkippedGate { skipped, .. } if skipped == "no gate ran"),
            "{e:?}"
        );
    });
}

#[test]
fn a_different_image_is_refused_naming_the_proved_one() {
    block_on(async {
        let store = MemoryStore::default();
        record(
            &store,
            &run(
                "r1",
                "2026-12-01T10:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                all_pass(),
            ),
        )
        .await;
        let other = "registry.fly.io/web-staging:deployment-01HOTFIX";
        let e = verdict(&store, &[other], None).await.unwrap_err();
        assert_eq!(
            *e,
            Refusal::DifferentImage {
                env: "staging".into(),
                service: "web".into(),
                image: other.into(),
                proved: IMG.into(),
                run_id: "r1".into()
            }
        );
        assert!(e.to_string().contains(
            "but the record proves registry.fly.io/web-staging:deployment-01PROVEN (run r1)"
        ));
    });
}

#[test]
fn a_run_older_than_max_age_is_refused() {
    block_on(async {
        let store = MemoryStore::default();
        record(
            &store,
            &run(
                "r1",
                "2026-11-20T12:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                all_pass(),
            ),
        )
        .await;
        let week = Some(Duration::from_secs(7 * 86_400));
        let e = verdict(&store, &[IMG], week).await.unwrap_err();
        assert!(
            matches!(&*e, Refusal::Stale { run_id, max_age, .. } if run_id == "r1" && max_age == "168h"),
            "{e:?}"
        );
        assert!(
            e.to_string().contains(
                "(r1, finished 2026-11-20T12:00:00Z) is older than promote.max_age (168h)"
            ),
            "{e}"
        );
        // Within the age it passes; without max_age any age does.
        assert!(
            verdict(&store, &[IMG], Some(Duration::from_secs(30 * 86_400)))
                .await
                .is_ok()
        );
        assert!(verdict(&store, &[IMG], None).await.is_ok());
    });
}

#[test]
fn machines_on_several_images_or_none_are_refused() {
    block_on(async {
        let store = MemoryStore::default();
        record(
            &store,
            &run(
                "r1",
                "2026-12-01T10:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                all_pass(),
            ),
        )
        .await;
        let e = verdict(
            &store,
            &[IMG, "registry.fly.io/web-staging:deployment-01B"],
            None,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().starts_with("staging's web machines run more than one image: registry.fly.io/web-staging:deployment-01PROVEN, registry.fly.io/web-staging:deployment-01B"), "{e}");
        let e = verdict(&store, &[], None).await.unwrap_err();
        assert!(matches!(*e, Refusal::NoImage { .. }));
    });
}

#[test]
fn a_later_failed_run_of_the_same_image_unproves_it_but_another_images_does_not() {
    block_on(async {
        let store = MemoryStore::default();
        record(
            &store,
            &run(
                "r1",
                "2026-12-01T10:00:00Z",
                IMG,
                ServiceResult::Succeeded,
                all_pass(),
            ),
        )
        .await;
        // A bad hotfix was rolled back: staging is back on IMG, which is still proved.
        let mut gates = all_pass();
        gates[1].verdict = Verdict::Fail;
        let hotfix = "registry.fly.io/web-staging:deployment-01HOTFIX";
        record(
            &store,
            &run(
                "r2",
                "2026-12-01T11:00:00Z",
                hotfix,
                ServiceResult::RolledBack,
                gates.clone(),
            ),
        )
        .await;
        assert_eq!(verdict(&store, &[IMG], None).await.unwrap().run_id, "r1");
        // IMG itself failed its health gate afterwards: the newest word on it is a failure.
        record(
            &store,
            &run(
                "r3",
                "2026-12-01T12:00:00Z",
                IMG,
                ServiceResult::RolledBack,
                gates,
            ),
        )
        .await;
        let e = verdict(&store, &[IMG], None).await.unwrap_err();
        assert!(
            matches!(&*e, Refusal::FailedGate { run_id, failed, .. } if run_id == "r3" && failed == "health"),
            "{e:?}"
        );
    });
}
