//! What shipit's record says about an app's releases: which images failed a gate or were rolled
//! back (a manual rollback never goes back to one of those), and one verdict per Fly release for
//! `shipit releases`. Pure: the runs come from the record (`store::Store::runs`), read by the
//! commands, so a fresh runner with a `git` or `postgres` record knows what an earlier one saw.

use serde::Serialize;

use crate::platform::Release;
use crate::report::{ReleaseRef, RunKind, RunRecord, ServiceRecord, ServiceResult, Verdict};

/// How the reason of a service undone with its environment begins (`pipeline::undo_service`).
pub(crate) const WITH_THE_ENVIRONMENT: &str = "rolled back with the environment";

/// Why an image is not a rollback target: the run that rejected it and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Rejection {
    pub image: String,
    /// The release the run deployed it as, when known.
    pub version: Option<u64>,
    pub run_id: String,
    /// `failed the health gate ([STATUS] (500) == 200); rolled back`.
    pub why: String,
}

/// What shipit's record says of one Fly release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VerdictKind {
    /// Deployed by shipit and passed every gate.
    Passed,
    /// Its image failed a gate or was rolled back: never a default rollback target.
    Rejected,
    /// A rollback put an earlier image back as this release.
    Restored,
    /// A shipit run was cancelled while deploying it.
    Cancelled,
    /// shipit's record does not know it (deployed by hand, or before the record).
    Unknown,
}

/// One release's verdict: the kind, a sentence, and the run it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ReleaseVerdict {
    pub verdict: VerdictKind,
    pub reason: String,
    pub run_id: Option<String>,
}

/// The record's runs touching one Fly app, newest first, read once and asked many times.
pub(crate) struct Verdicts {
    /// (run id, run kind, the app's service record), newest first.
    entries: Vec<(String, RunKind, ServiceRecord)>,
}

impl Verdicts {
    /// The service records of `app` in `runs` (newest first, as `Store::runs` returns them).
    pub(crate) fn new(app: &str, runs: &[RunRecord]) -> Verdicts {
        let entries = runs
            .iter()
            .filter(|r| r.kind != RunKind::Demo)
            .flat_map(|r| {
                r.services
                    .iter()
                    .filter(|s| s.app == app)
                    .map(|s| (r.id.clone(), r.kind, s.clone()))
            })
            .collect();
        Verdicts { entries }
    }

    /// Every image the record shows failing a gate or being rolled back, newest first, one
    /// entry per image.
    #[cfg(test)]
    pub(crate) fn rejections(&self) -> Vec<Rejection> {
        let mut out: Vec<Rejection> = Vec::new();
        for (run_id, kind, s) in &self.entries {
            for r in rejections_of(run_id, *kind, s) {
                if !out.iter().any(|o| o.image == r.image) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// Why `image` is rejected, when it is.
    pub(crate) fn rejected(&self, image: &str) -> Option<Rejection> {
        self.entries
            .iter()
            .flat_map(|(id, kind, s)| rejections_of(id, *kind, s))
            .find(|r| r.image == image)
    }

    /// What the record says of `release`: first what the run that made it says, else what the
    /// record knows of its image.
    pub(crate) fn of(&self, release: &Release) -> ReleaseVerdict {
        let made = |r: Option<&ReleaseRef>| r.and_then(|r| r.version) == Some(release.version);
        for (run_id, kind, s) in &self.entries {
            let deployed_here =
                matches!(kind, RunKind::Deploy | RunKind::Promote) && made(s.to.as_ref());
            // A rollback makes a new release: the live one is neither what ran before nor
            // (for a deploy) the run's own. A run that changed nothing leaves `live` on `from`
            // and says nothing about it.
            let restored_here = made(s.live.as_ref())
                && !made(s.from.as_ref())
                && (!made(s.to.as_ref()) || *kind == RunKind::Rollback);
            if deployed_here {
                let verdict = match s.result {
                    ServiceResult::Succeeded => ReleaseVerdict {
                        verdict: VerdictKind::Passed,
                        reason: "passed every gate".into(),
                        run_id: Some(run_id.clone()),
                    },
                    ServiceResult::Cancelled => ReleaseVerdict {
                        verdict: VerdictKind::Cancelled,
                        reason: "the deploy was cancelled".into(),
                        run_id: Some(run_id.clone()),
                    },
                    _ => match rejections_of(run_id, *kind, s).into_iter().next() {
                        Some(r) => ReleaseVerdict {
                            verdict: VerdictKind::Rejected,
                            reason: r.why,
                            run_id: Some(run_id.clone()),
                        },
                        None => continue,
                    },
                };
                return verdict;
            }
            if restored_here {
                let healthy = s
                    .gates
                    .iter()
                    .rev()
                    .find(|g| g.name.starts_with("rollback"))
                    .is_some_and(|g| g.verdict == Verdict::Pass);
                let reason = format!(
                    "a rollback put this image back; {}",
                    if healthy {
                        "it passed the health gate"
                    } else {
                        "it failed the health gate"
                    }
                );
                return ReleaseVerdict {
                    verdict: if healthy {
                        VerdictKind::Restored
                    } else {
                        VerdictKind::Rejected
                    },
                    reason,
                    run_id: Some(run_id.clone()),
                };
            }
        }
        if let Some(r) = self.rejected(&release.image) {
            let as_release = r.version.map(|v| format!(" (as v{v})")).unwrap_or_default();
            return ReleaseVerdict {
                verdict: VerdictKind::Rejected,
                reason: format!("its image {}{as_release}", r.why),
                run_id: Some(r.run_id),
            };
        }
        if let Some((run_id, _, s)) = self.entries.iter().find(|(_, k, s)| {
            matches!(k, RunKind::Deploy | RunKind::Promote)
                && s.result == ServiceResult::Succeeded
                && s.to.as_ref().is_some_and(|t| t.image == release.image)
        }) {
            let as_release =
                s.to.as_ref()
                    .and_then(|t| t.version)
                    .map(|v| format!(" as v{v}"))
                    .unwrap_or_default();
            return ReleaseVerdict {
                verdict: VerdictKind::Passed,
                reason: format!("its image passed every gate{as_release}"),
                run_id: Some(run_id.clone()),
            };
        }
        ReleaseVerdict {
            verdict: VerdictKind::Unknown,
            reason: "no shipit run on record".into(),
            run_id: None,
        }
    }
}

/// The images one service record rejects: the new image of a deploy that failed a gate or was
/// rolled back, and an image that was unhealthy after a rollback put it back.
fn rejections_of(run_id: &str, kind: RunKind, s: &ServiceRecord) -> Vec<Rejection> {
    let mut out = Vec::new();
    let failed_gate = |rollback: bool| {
        s.gates
            .iter()
            .find(|g| g.verdict == Verdict::Fail && g.name.starts_with("rollback") == rollback)
    };
    // The new image of a deploy, unless it is the image that ran before (a config-only deploy
    // that failed says nothing against the image). A manual rollback's `to` is an old image:
    // only its health gate below can speak against it.
    if let Some(to) = &s.to
        && kind != RunKind::Rollback
        && s.from.as_ref().is_none_or(|f| f.image != to.image)
    {
        let rolled_back = matches!(
            s.result,
            ServiceResult::RolledBack | ServiceResult::RollbackFailed
        );
        let gate = failed_gate(false);
        if rolled_back || gate.is_some() {
            let end = match s.result {
                ServiceResult::RolledBack => "; rolled back",
                ServiceResult::RollbackFailed => "; not recovered",
                _ => "",
            };
            let why = match (gate, &s.reason) {
                // Undone because a later service of its environment failed (`on_partial`).
                (_, Some(reason)) if reason.starts_with(WITH_THE_ENVIRONMENT) => reason.clone(),
                (Some(g), _) => format!("failed the {} gate ({}){end}", g.name, g.observed),
                (None, Some(reason)) => format!("failed ({reason}){end}"),
                (None, None) => format!("failed{end}"),
            };
            out.push(Rejection {
                image: to.image.clone(),
                version: to.version,
                run_id: run_id.to_owned(),
                why: format!("{why} in run {run_id}"),
            });
        }
    }
    // What a rollback put back and then found unhealthy.
    if let (Some(g), Some(live)) = (failed_gate(true), &s.live)
        && !out.iter().any(|r| r.image == live.image)
    {
        out.push(Rejection {
            image: live.image.clone(),
            version: live.version,
            run_id: run_id.to_owned(),
            why: format!(
                "was unhealthy after a rollback put it back ({}) in run {run_id}",
                g.observed
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::GateRecord;

    fn gate(name: &str, verdict: Verdict) -> GateRecord {
        GateRecord {
            name: name.into(),
            rule: String::new(),
            observed: "[STATUS] (500) == 200".into(),
            verdict,
            details: Vec::new(),
        }
    }

    fn rref(version: u64, image: &str) -> ReleaseRef {
        ReleaseRef {
            version: Some(version),
            image: image.into(),
        }
    }

    fn run(id: &str, kind: RunKind, s: ServiceRecord) -> RunRecord {
        let mut r =
            crate::commands::new_record(kind, Some("staging".into()), std::time::UNIX_EPOCH);
        r.id = id.into();
        r.services.push(s);
        r
    }

    fn service(result: ServiceResult) -> ServiceRecord {
        let mut s = ServiceRecord::new("staging", "web", "app", "http://x");
        s.result = result;
        s
    }

    #[test]
    fn a_rolled_back_deploy_rejects_its_image_and_its_release() {
        let mut s = service(ServiceResult::RolledBack);
        s.from = Some(rref(3, "good"));
        s.to = Some(rref(4, "bad"));
        s.live = Some(rref(5, "good"));
        s.reason = Some("health gate failed".into());
        s.gates = vec![
            gate("health", Verdict::Fail),
            gate("rollback health", Verdict::Pass),
        ];
        let v = Verdicts::new("app", &[run("r1", RunKind::Deploy, s)]);
        let r = v.rejected("bad").unwrap();
        assert_eq!(r.version, Some(4));
        assert!(r.why.contains("failed the health gate"), "{}", r.why);
        assert!(r.why.ends_with("rolled back in run r1"), "{}", r.why);
        assert!(v.rejected("good").is_none());
        let bad = Release::for_test(4, "complete", "bad");
        assert_eq!(v.of(&bad).verdict, VerdictKind::Rejected);
        let back = Release::for_test(5, "complete", "good");
        assert_eq!(v.of(&back).verdict, VerdictKind::Restored);
        let old = Release::for_test(2, "complete", "older");
        assert_eq!(v.of(&old).verdict, VerdictKind::Unknown);
    }

    #[test]
    fn an_unhealthy_rollback_rejects_what_it_put_back() {
        let mut s = service(ServiceResult::Succeeded);
        s.to = Some(rref(6, "old"));
        s.live = Some(rref(7, "old"));
        s.gates = vec![gate("rollback health", Verdict::Fail)];
        s.result = ServiceResult::RollbackFailed;
        let v = Verdicts::new("app", &[run("r2", RunKind::Rollback, s)]);
        assert!(
            v.rejected("old")
                .unwrap()
                .why
                .contains("unhealthy after a rollback")
        );
    }

    #[test]
    fn a_passed_deploy_and_a_config_only_failure_reject_nothing() {
        let mut ok = service(ServiceResult::Succeeded);
        ok.from = Some(rref(3, "a"));
        ok.to = Some(rref(4, "b"));
        ok.live = Some(rref(4, "b"));
        ok.gates = vec![gate("health", Verdict::Pass)];
        let mut same = service(ServiceResult::RolledBack);
        same.from = Some(rref(4, "b"));
        same.to = Some(rref(5, "b"));
        same.gates = vec![gate("health", Verdict::Fail)];
        let v = Verdicts::new(
            "app",
            &[
                run("r4", RunKind::Deploy, same),
                run("r3", RunKind::Deploy, ok),
            ],
        );
        assert!(v.rejections().is_empty());
        assert_eq!(
            v.of(&Release::for_test(4, "complete", "b")).verdict,
            VerdictKind::Passed
        );
        // Another app's runs say nothing about this one.
        assert_eq!(
            Verdicts::new("other", &[])
                .of(&Release::for_test(4, "complete", "b"))
                .verdict,
            VerdictKind::Unknown
        );
    }
}
