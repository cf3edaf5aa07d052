//! The canary's transitions (`strategy: canary`) over the fake platform, prober and clock.

use super::*;

fn canary_case() -> (Case, Service) {
    let c = Case::new(Some(OLD), &[]);
    let svc = c.service("  strategy: canary\n");
    (c, svc)
}

fn machine_of<'w>(w: &'w World, id: &str) -> &'w Machine {
    w.machines.iter().find(|m| m.id == id).unwrap()
}

#[tokio::test]
async fn an_identical_canary_passes_and_the_rest_of_the_fleet_is_deployed() {
    let (c, svc) = canary_case();
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded, "{:?}", r.reason);
    let w = c.platform.world.borrow();
    assert_eq!(w.deploys.len(), 2);
    assert_eq!(w.deploys[0].machines.only, ["m1"]);
    assert_eq!(w.deploys[1].machines.exclude, ["m1"]);
    assert!(w.machines.iter().all(|m| m.image == NEW));
    let gate = r.gates.iter().find(|g| g.name == "canary").unwrap();
    assert_eq!(gate.verdict, crate::report::Verdict::Pass);
    let report = r.canary.as_ref().unwrap();
    assert_eq!(report.judgement.canary.probes, 60);
    assert_eq!(report.judgement.baseline.probes, 60);
    assert!(report.exposure_ms.is_some());
    assert!(
        gate.details.iter().any(|d| d.contains("Mann-Whitney U")),
        "{:?}",
        gate.details
    );
    assert_eq!(steps(&r), super::super::plan::stage_names());
}

#[tokio::test]
async fn a_slower_canary_fails_and_only_the_canary_goes_back() {
    let (mut c, svc) = canary_case();
    c.prober.slow = vec![NEW];
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", r.reason);
    assert!(
        r.reason.as_deref().unwrap().contains("canary failed"),
        "{:?}",
        r.reason
    );
    let w = c.platform.world.borrow();
    assert_eq!(w.deploys.len(), 2, "{:?}", w.deploys);
    assert_eq!(w.deploys[1].machines.only, ["m1"]);
    assert_eq!(w.deploys[1].image.as_deref(), Some(OLD));
    // The other machine never left the baseline: same image, same release.
    let m2 = machine_of(&w, "m2");
    assert_eq!((m2.image.as_str(), m2.release_version), (OLD, Some(5)));
    assert_eq!(machine_of(&w, "m1").image, OLD);
    let report = r.canary.as_ref().unwrap();
    assert_eq!(report.judgement.verdict, crate::canary::Verdict::Fail);
    assert!(
        report.judgement.rule.contains("slower"),
        "{}",
        report.judgement.rule
    );
    assert!(
        r.actions
            .iter()
            .any(|a| a.contains("reached only 1 of 2 machines (50 % of the fleet)")),
        "{:?}",
        r.actions
    );
}

#[tokio::test]
async fn a_critical_canary_answer_fails_at_once() {
    let (mut c, svc) = canary_case();
    c.prober.broken = vec![NEW];
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", r.reason);
    let report = r.canary.as_ref().unwrap();
    assert_eq!(
        report.judgement.canary.probes, 1,
        "the first critical answer decides"
    );
    assert!(report.judgement.rule.contains("critical"));
    assert_eq!(c.platform.world.borrow().deploys[1].machines.only, ["m1"]);
}

#[tokio::test]
async fn a_fleet_of_one_falls_back_to_the_plain_pipeline() {
    let (c, svc) = canary_case();
    c.platform.world.borrow_mut().machines.truncate(1);
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::Succeeded, "{:?}", r.reason);
    assert!(
        r.warnings.iter().any(|w| w.contains("no canary")),
        "{:?}",
        r.warnings
    );
    let w = c.platform.world.borrow();
    assert_eq!(w.deploys.len(), 1);
    assert!(w.deploys[0].machines.is_empty());
    assert!(r.canary.is_none());
}

#[tokio::test]
async fn a_failure_after_a_passed_canary_rolls_back_the_whole_fleet() {
    let (c, svc) = canary_case();
    // The rest of the fleet's call leaves it half-updated: the usual rollback, every machine.
    c.platform.world.borrow_mut().scripts = vec![Script::Ok, Script::FailUntouched];
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", r.reason);
    let w = c.platform.world.borrow();
    assert_eq!(w.deploys.len(), 3, "{:?}", w.deploys);
    assert!(w.deploys[2].machines.is_empty(), "{:?}", w.deploys[2]);
    assert!(w.machines.iter().all(|m| m.image == OLD));
}

#[tokio::test]
async fn a_canary_call_that_changes_nothing_needs_no_rollback() {
    let (c, svc) = canary_case();
    c.platform.world.borrow_mut().scripts = vec![Script::FailUntouched];
    let r = c.run(&svc, &opts()).await;
    assert_eq!(
        r.result,
        ServiceResult::FailedBeforeChange,
        "{:?}",
        r.reason
    );
    assert_eq!(c.platform.world.borrow().deploys.len(), 1);
}

#[tokio::test]
async fn canary_probes_failing_a_condition_in_a_row_fail_it_at_once() {
    let c = Case::new(Some(OLD), &[]);
    let mut svc = c.service("  strategy: canary\n");
    svc.health.expect =
        vec![crate::probe::condition::Condition::parse("[RESPONSE_TIME] < 100ms").unwrap()];
    let mut c = c;
    c.prober.slow = vec![NEW];
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", r.reason);
    let report = r.canary.as_ref().unwrap();
    // unhealthy_after is 2 in the test config: the second failing canary probe decides.
    assert_eq!(report.judgement.canary.probes, 2);
    assert!(
        report
            .judgement
            .rule
            .contains("failed its health conditions 2 times in a row"),
        "{}",
        report.judgement.rule
    );
    assert_eq!(c.platform.world.borrow().deploys[1].machines.only, ["m1"]);
}

#[tokio::test]
async fn canary_answers_cut_short_fail_it_as_they_fail_the_gate() {
    // Every canary answer stops half way: a status 200 whose body never fully arrived fails
    // the canary's health conditions as it fails the health gate's.
    let (mut c, svc) = canary_case();
    c.prober.new_cut_short_after = Some(0);
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", r.reason);
    let report = r.canary.as_ref().unwrap();
    assert_eq!(report.judgement.canary.probes, 2);
    assert!(
        report
            .judgement
            .rule
            .contains("failed its health conditions 2 times in a row")
            && report.judgement.rule.contains("cut short"),
        "{}",
        report.judgement.rule
    );
    assert_eq!(c.platform.world.borrow().deploys[1].machines.only, ["m1"]);
}

/// One canary probe in 20 answers 429: over the error bound, never significant in 60 or 120
/// probes a side (p 0.12, then 0.015 against alpha 0.01): inconclusive, extended once, then
/// `canary.inconclusive` decides.
fn inconclusive_case(extra: &str) -> (Case, Service) {
    let mut c = Case::new(Some(OLD), &[]);
    c.prober.new_429_every = Some(20);
    let svc = c.service(&format!("  strategy: canary\n{extra}"));
    (c, svc)
}

#[tokio::test]
async fn an_inconclusive_canary_is_extended_once_then_fails_by_default() {
    let (c, svc) = inconclusive_case("");
    let r = c.run(&svc, &opts()).await;
    assert_eq!(r.result, ServiceResult::RolledBack, "{:?}", r.reason);
    let report = r.canary.as_ref().unwrap();
    assert!(report.extended);
    assert_eq!(report.judgement.canary.probes, 120, "two windows of 60");
    assert_eq!(
        report.judgement.verdict,
        crate::canary::Verdict::Inconclusive
    );
    assert!(
        report.judgement.rule.starts_with("inconclusive twice")
            && report
                .judgement
                .rule
                .ends_with("`canary.inconclusive: fail`"),
        "{}",
        report.judgement.rule
    );
    assert_eq!(c.platform.world.borrow().deploys[1].machines.only, ["m1"]);
}

#[tokio::test]
async fn an_inconclusive_canary_passes_with_inconclusive_pass() {
    let (c, svc) = inconclusive_case("  canary: { inconclusive: pass }\n");
    let r = c.run(&svc, &opts()).await;
    let gate = r.gates.iter().find(|g| g.name == "canary").unwrap();
    assert_eq!(
        gate.verdict,
        crate::report::Verdict::Warn,
        "{}",
        gate.observed
    );
    assert!(
        gate.observed.ends_with("`canary.inconclusive: pass`"),
        "{}",
        gate.observed
    );
    let w = c.platform.world.borrow();
    assert_eq!(
        w.deploys[1].machines.exclude,
        ["m1"],
        "the rest was deployed"
    );
}
