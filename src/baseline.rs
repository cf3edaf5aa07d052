//! The baseline: where an app stands before shipit changes it. The release version and the image
//! the fleet actually runs (the rollback target), each machine's state and Fly checks, and the
//! outside probe figures the regression gate compares a new release against.
//!
//! `shipit baseline` writes one, and the deploy pipeline writes one before its first remote
//! change, both to `.shipit/baseline/<app>.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::platform::{AppStatus, Machine, Release};
use crate::probe::stats::LatencyStats;

/// An app's state at one moment, as the rollback target and the yardstick for the next release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Baseline {
    /// The Fly app name.
    pub app: String,
    /// The environment and service (the key under `apps:`) of shipit.yml, when known.
    pub env: String,
    pub service: String,
    /// When it was recorded, `YYYY-MM-DDTHH:MM:SSZ`.
    pub captured_at: String,
    /// The release version of the machines that run [`Baseline::image`].
    pub version: Option<u64>,
    /// The image the fleet runs: what a rollback deploys. `None` when the app has no machines.
    pub image: Option<String>,
    /// The machines that count disagree about their image (e.g. a rolling deploy that failed
    /// half way); `image` is then the one chosen by [`Baseline::from_status`].
    pub mixed_images: bool,
    pub machines: Vec<MachineSummary>,
    /// Fly checks passing, over every check of every machine.
    pub checks_passing: usize,
    pub checks_total: usize,
    /// The health endpoint the figures were measured at.
    pub probe_url: Option<String>,
    /// Outside probe figures of the health endpoint (what the regression gate compares the new
    /// release's sample with); `None` when no probes were taken.
    pub figures: Option<LatencyStats>,
}

/// One machine as the baseline records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MachineSummary {
    pub id: String,
    pub region: String,
    pub state: String,
    pub image: String,
    pub release_version: Option<u64>,
    /// `2/2 passing`, `1/2 passing, 1 critical`, or `no checks`.
    pub checks: String,
}

impl MachineSummary {
    pub(crate) fn from_machine(m: &Machine) -> MachineSummary {
        MachineSummary {
            id: m.id.clone(),
            region: m.region.clone(),
            state: m.state.clone(),
            image: m.image.clone(),
            release_version: m.release_version,
            checks: check_summary(m),
        }
    }
}

/// `2/2 passing`, with the warning and critical counts when there are any.
pub(crate) fn check_summary(m: &Machine) -> String {
    let counts = CheckCounts::of(std::slice::from_ref(m));
    counts.summary()
}

/// Fly check states counted over some machines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CheckCounts {
    pub passing: usize,
    pub warning: usize,
    pub critical: usize,
}

impl CheckCounts {
    pub(crate) fn of(machines: &[Machine]) -> CheckCounts {
        let mut c = CheckCounts::default();
        for check in machines.iter().flat_map(|m| &m.checks) {
            match check.status.as_str() {
                "passing" => c.passing += 1,
                "warning" => c.warning += 1,
                // Fly has only three states; anything else is treated as the worst.
                _ => c.critical += 1,
            }
        }
        c
    }

    pub(crate) fn total(self) -> usize {
        self.passing + self.warning + self.critical
    }

    /// `2/2 passing`, `1/3 passing, 1 warning, 1 critical`, `no checks`.
    pub(crate) fn summary(self) -> String {
        if self.total() == 0 {
            return "no checks".to_owned();
        }
        let mut parts = vec![format!("{}/{} passing", self.passing, self.total())];
        if self.warning > 0 {
            parts.push(format!("{} warning", self.warning));
        }
        if self.critical > 0 {
            parts.push(format!("{} critical", self.critical));
        }
        parts.join(", ")
    }
}

impl Baseline {
    /// The baseline of an app from `status --json` and `releases --json`, without probe figures
    /// and without the environment and service names (see [`Baseline::for_service`]).
    ///
    /// The image is the one the fleet actually runs: that of the started machines (of every
    /// machine when none is started, e.g. an autostopped app). When they disagree, it is the
    /// image of the newest `complete` release that one of them runs (the last release that
    /// proved itself), else the most common image, ties going to the highest release version.
    pub(crate) fn from_status(status: &AppStatus, releases: &[Release]) -> Baseline {
        let started: Vec<&Machine> = status.machines.iter().filter(|m| m.is_started()).collect();
        let counted: Vec<&Machine> = if started.is_empty() {
            status.machines.iter().collect()
        } else {
            started
        };
        let (image, mixed_images) = fleet_image(&counted, releases);
        let version = image
            .as_deref()
            .and_then(|img| {
                let from_machines = counted
                    .iter()
                    .filter(|m| m.image == img)
                    .filter_map(|m| m.release_version)
                    .max();
                // Machines without release metadata: the newest release that deployed this image.
                from_machines.or_else(|| {
                    releases
                        .iter()
                        .filter(|r| r.image == img)
                        .map(|r| r.version)
                        .max()
                })
            })
            .or((status.version > 0).then_some(status.version));
        let counts = CheckCounts::of(&status.machines);
        Baseline {
            app: status.app.clone(),
            env: String::new(),
            service: String::new(),
            captured_at: crate::timefmt::now(),
            version,
            image,
            mixed_images,
            machines: status
                .machines
                .iter()
                .map(MachineSummary::from_machine)
                .collect(),
            checks_passing: counts.passing,
            checks_total: counts.total(),
            probe_url: None,
            figures: None,
        }
    }

    /// Names the environment and service this baseline belongs to.
    #[must_use]
    pub(crate) fn for_service(mut self, env: &str, service: &str) -> Baseline {
        env.clone_into(&mut self.env);
        service.clone_into(&mut self.service);
        self
    }

    /// `.shipit/baseline/<app>.json` under the state folder.
    pub(crate) fn path(state_dir: &Path, app: &str) -> PathBuf {
        state_dir.join("baseline").join(format!("{app}.json"))
    }

    /// Writes the baseline atomically (a temporary file renamed over the old one), so a reader
    /// never sees half a rollback target. Returns the path written.
    pub(crate) fn write(&self, state_dir: &Path) -> anyhow::Result<PathBuf> {
        let path = Self::path(state_dir, &self.app);
        let dir = path.parent().expect("the baseline path has a folder");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let text = serde_json::to_string_pretty(self).context("cannot serialize the baseline")?;
        let tmp = dir.join(format!(".{}.json.{}.tmp", self.app, std::process::id()));
        std::fs::write(&tmp, text + "\n")
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot move the baseline into place at {}", path.display())
        })?;
        Ok(path)
    }

    /// Reads an app's baseline; `Ok(None)` when none was recorded. The run reads its target
    /// from the record (`store`); only the tests read the file back.
    #[cfg(test)]
    pub(crate) fn read(state_dir: &Path, app: &str) -> anyhow::Result<Option<Baseline>> {
        let path = Self::path(state_dir, app);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let baseline = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a baseline shipit can read", path.display()))?;
        Ok(Some(baseline))
    }

    /// A rollback target as the run record refers to it.
    pub(crate) fn release_ref(&self) -> Option<crate::report::ReleaseRef> {
        self.image.as_ref().map(|image| crate::report::ReleaseRef {
            version: self.version,
            image: image.clone(),
        })
    }
}

/// The image the `machines` run and whether they disagree (see [`Baseline::from_status`]).
fn fleet_image(machines: &[&Machine], releases: &[Release]) -> (Option<String>, bool) {
    // image -> (machines running it, highest release version among them)
    let mut seen: BTreeMap<&str, (usize, Option<u64>)> = BTreeMap::new();
    for m in machines.iter().filter(|m| !m.image.is_empty()) {
        let entry = seen.entry(m.image.as_str()).or_insert((0, None));
        entry.0 += 1;
        entry.1 = entry.1.max(m.release_version);
    }
    match seen.len() {
        // Machines that run but do not say what (an empty image, seen on machines Fly has not
        // reported on yet) are not a first deploy: the newest complete release says what runs.
        0 if !machines.is_empty() => {
            let newest = releases
                .iter()
                .filter(|r| r.status == "complete" && !r.image.is_empty())
                .max_by_key(|r| r.version)
                .map(|r| r.image.clone());
            return (newest, false);
        }
        0 => return (None, false),
        1 => return (seen.keys().next().map(|s| (*s).to_owned()), false),
        _ => {}
    }
    let newest_complete = releases
        .iter()
        .filter(|r| r.status == "complete" && seen.contains_key(r.image.as_str()))
        .max_by_key(|r| r.version);
    if let Some(r) = newest_complete {
        return (Some(r.image.clone()), true);
    }
    let most_common = seen
        .iter()
        .max_by(|a, b| (a.1.0, a.1.1).cmp(&(b.1.0, b.1.1)))
        .map(|(image, _)| (*image).to_owned());
    (most_common, true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::platform::Check;

    const OLD: &str = "registry.fly.io/web:deployment-old";
    const NEW: &str = "registry.fly.io/web:deployment-new";

    fn machine(id: &str, state: &str, image: &str, version: Option<u64>, check: &str) -> Machine {
        Machine {
            id: id.into(),
            name: format!("m-{id}"),
            state: state.into(),
            region: "iad".into(),
            image: image.into(),
            release_version: version,
            process_group: Some("app".into()),
            host_status: "ok".into(),
            checks: vec![Check {
                name: "servicecheck-00-http-3000".into(),
                status: check.into(),
                output: String::new(),
            }],
            events: Vec::new(),
        }
    }

    fn release(version: u64, status: &str, image: &str) -> Release {
        Release::for_test(version, status, image)
    }

    fn status(version: u64, machines: Vec<Machine>) -> AppStatus {
        AppStatus {
            app: "web".into(),
            version,
            status: "deployed".into(),
            hostname: "web.fly.dev".into(),
            machines,
        }
    }

    #[test]
    fn a_uniform_fleet_gives_its_image_and_release() {
        let s = status(
            42,
            vec![
                machine("a", "started", OLD, Some(42), "passing"),
                machine("b", "started", OLD, Some(42), "passing"),
            ],
        );
        let b = Baseline::from_status(
            &s,
            &[release(42, "complete", OLD), release(41, "complete", "x")],
        );
        assert_eq!(b.image.as_deref(), Some(OLD));
        assert_eq!(b.version, Some(42));
        assert!(!b.mixed_images);
        assert_eq!((b.checks_passing, b.checks_total), (2, 2));
        assert_eq!(b.machines[0].checks, "1/1 passing");
    }

    #[test]
    fn a_half_updated_fleet_gives_the_last_complete_release_it_runs() {
        // A rolling deploy of release 43 failed its health checks after updating one machine:
        // that machine runs the new image with a critical check, the other two the old one.
        let s = status(
            43,
            vec![
                machine("a", "started", NEW, Some(43), "critical"),
                machine("b", "started", OLD, Some(42), "passing"),
                machine("c", "started", OLD, Some(42), "passing"),
            ],
        );
        let releases = [
            release(43, "failed", NEW),
            release(42, "complete", OLD),
            release(41, "complete", "older"),
        ];
        let b = Baseline::from_status(&s, &releases);
        assert_eq!(b.image.as_deref(), Some(OLD));
        assert_eq!(b.version, Some(42));
        assert!(b.mixed_images);
        assert_eq!((b.checks_passing, b.checks_total), (2, 3));
        assert_eq!(b.machines[0].checks, "0/1 passing, 1 critical");

        // Even when the new image has the majority, the release that completed wins.
        let s = status(
            43,
            vec![
                machine("a", "started", NEW, Some(43), "critical"),
                machine("b", "started", NEW, Some(43), "critical"),
                machine("c", "started", OLD, Some(42), "passing"),
            ],
        );
        let b = Baseline::from_status(&s, &releases);
        assert_eq!((b.image.as_deref(), b.version), (Some(OLD), Some(42)));
    }

    #[test]
    fn without_a_complete_release_the_most_common_image_wins_then_the_newest() {
        let s = status(
            3,
            vec![
                machine("a", "started", NEW, Some(3), "passing"),
                machine("b", "started", OLD, Some(2), "passing"),
                machine("c", "started", OLD, Some(2), "passing"),
            ],
        );
        let b = Baseline::from_status(&s, &[]);
        assert_eq!(
            (b.image.as_deref(), b.version, b.mixed_images),
            (Some(OLD), Some(2), true)
        );

        let s = status(
            3,
            vec![
                machine("a", "started", NEW, Some(3), "passing"),
                machine("b", "started", OLD, Some(2), "passing"),
            ],
        );
        let b = Baseline::from_status(&s, &[release(3, "failed", NEW), release(2, "failed", OLD)]);
        assert_eq!(
            (b.image.as_deref(), b.version, b.mixed_images),
            (Some(NEW), Some(3), true)
        );
    }

    #[test]
    fn an_app_without_machines_has_no_image() {
        let b = Baseline::from_status(&status(7, vec![]), &[release(7, "complete", OLD)]);
        assert_eq!(b.image, None);
        assert_eq!(b.version, Some(7));
        assert!(!b.mixed_images);
        assert_eq!((b.checks_passing, b.checks_total), (0, 0));
        let b = Baseline::from_status(&status(0, vec![]), &[]);
        assert_eq!(b.version, None);
    }

    #[test]
    fn stopped_machines_count_only_when_none_is_started() {
        // A crashed new machine (stopped) does not make the fleet's image.
        let s = status(
            43,
            vec![
                machine("a", "stopped", NEW, Some(43), "critical"),
                machine("b", "started", OLD, Some(42), "passing"),
            ],
        );
        let b = Baseline::from_status(
            &s,
            &[release(43, "failed", NEW), release(42, "complete", OLD)],
        );
        assert_eq!(
            (b.image.as_deref(), b.version, b.mixed_images),
            (Some(OLD), Some(42), false)
        );
        assert_eq!(b.machines.len(), 2);

        // An autostopped app: every machine is stopped, and they still say what runs.
        let s = status(
            42,
            vec![
                machine("a", "stopped", OLD, Some(42), "passing"),
                machine("b", "suspended", OLD, Some(42), "passing"),
            ],
        );
        let b = Baseline::from_status(&s, &[release(42, "complete", OLD)]);
        assert_eq!(
            (b.image.as_deref(), b.version, b.mixed_images),
            (Some(OLD), Some(42), false)
        );
    }

    #[test]
    fn the_version_comes_from_releases_when_machines_lack_metadata() {
        let s = status(9, vec![machine("a", "started", OLD, None, "passing")]);
        let b = Baseline::from_status(
            &s,
            &[release(9, "complete", NEW), release(8, "complete", OLD)],
        );
        assert_eq!(b.version, Some(8));
        let b = Baseline::from_status(&s, &[]);
        assert_eq!(b.version, Some(9));
    }

    #[test]
    fn writes_and_reads_back_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Baseline::read(dir.path(), "web").unwrap(), None);
        let s = status(42, vec![machine("a", "started", OLD, Some(42), "passing")]);
        let mut b = Baseline::from_status(&s, &[]).for_service("staging", "web");
        b.probe_url = Some("https://web.fly.dev/health".into());
        b.figures = Some(LatencyStats {
            count: 10,
            failures: 1,
            error_rate: 0.1,
            answered: 10,
            p50: Duration::from_micros(12_500),
            p95: Duration::from_millis(40),
            max: Duration::from_millis(41),
        });
        let path = b.write(dir.path()).unwrap();
        assert_eq!(path, dir.path().join("baseline/web.json"));
        assert_eq!(Baseline::read(dir.path(), "web").unwrap(), Some(b));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("baseline"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
        std::fs::write(&path, "{").unwrap();
        assert!(Baseline::read(dir.path(), "web").is_err());
    }
}
