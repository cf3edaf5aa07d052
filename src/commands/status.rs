//! `shipit status [ENV|APP] [--app SERVICE]`: what runs where. For each app (every service of
//! every environment when no target is given): the release version, the image each machine runs,
//! machine states by region, and Fly's own check states. With `-v`, also the app's last few log
//! lines (`flyctl logs --no-tail`, given at most 2 s since flyctl never returns on an empty log).
//!
//! Apps are asked concurrently. An app whose flyctl call fails does not hide the others: they are
//! printed, then the failure (naming the app and the flyctl command), and the exit code is 1.
//!
//! `--json` prints one array, one object per app, in config order:
//!
//! ```json
//! [{"env": "staging", "service": "web", "app": "hotdash-staging", "url": "https://...",
//!   "version": 42, "status": "deployed", "image": "registry.fly.io/...", "mixed_images": false,
//!   "machines": [{"id": "148ed193b95089", "region": "iad", "state": "started",
//!                 "image": "registry.fly.io/...", "release_version": 42,
//!                 "checks": {"passing": 1, "warning": 0, "critical": 0}}],
//!   "checks": {"passing": 1, "warning": 0, "critical": 0},
//!   "logs": [...],                                   // only with -v
//!   "error": {"kind": "app_not_found", "command": "flyctl status --json --app ...",
//!             "message": "..."}}]                    // only when the app failed
//! ```
//!
//! `version` is the app's current release as flyctl reports it. `image` is the image the fleet
//! runs, chosen as `shipit baseline` chooses the rollback target (`Baseline::from_status`, which
//! is why `status` also reads `releases --json`); `mixed_images` is true when the started
//! machines disagree, e.g. after a rolling deploy that failed half way.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use serde::Serialize;

use crate::baseline::{Baseline, CheckCounts};
use crate::config::{Config, Service};
use crate::exit::Outcome;
use crate::platform::{ErrorKind, LogEntry, Platform, PlatformError};

/// How long `-v` waits for an app's logs.
const LOG_WAIT: Duration = Duration::from_secs(2);
/// How many log lines `-v` shows per app.
const LOG_LINES: usize = 5;

/// One app in `status` output.
#[derive(Debug, Serialize)]
struct AppReport {
    env: String,
    service: String,
    app: String,
    /// Masked when it came from `${VAR}`.
    url: String,
    version: Option<u64>,
    status: Option<String>,
    image: Option<String>,
    mixed_images: bool,
    machines: Vec<MachineRow>,
    checks: CheckCounts,
    #[serde(skip_serializing_if = "Option::is_none")]
    logs: Option<Vec<LogEntry>>,
    /// Why the logs could not be read (deploy tokens may not read logs); not a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    logs_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<AppError>,
}

#[derive(Debug, Serialize)]
struct MachineRow {
    id: String,
    region: String,
    state: String,
    image: String,
    release_version: Option<u64>,
    checks: CheckCounts,
}

#[derive(Debug, Serialize)]
struct AppError {
    kind: ErrorKind,
    command: String,
    message: String,
    #[serde(skip)]
    hint: Option<&'static str>,
}

impl AppReport {
    fn new(service: &Service) -> AppReport {
        AppReport {
            env: service.env.clone(),
            service: service.name.clone(),
            app: service.app.clone(),
            url: service.url.to_string(),
            version: None,
            status: None,
            image: None,
            mixed_images: false,
            machines: Vec::new(),
            checks: CheckCounts::default(),
            logs: None,
            logs_error: None,
            error: None,
        }
    }

    fn label(&self) -> String {
        format!("{}/{} ({})", self.env, self.service, self.app)
    }
}

pub(crate) async fn run(
    ctx: &super::Ctx,
    target: Option<&str>,
    service: Option<&str>,
) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let services = select(&config, target, service)?;
    let fly = ctx.fly()?;
    let with_logs = ctx.printer.verbose();
    ctx.printer.debug(&format!(
        "asking flyctl ({}) about {} app(s)",
        fly.path.display(),
        services.len()
    ));
    let reports = join_all(
        services
            .iter()
            .map(|s| report(&fly, s, with_logs))
            .collect(),
    )
    .await;
    if ctx.printer.json_mode() {
        ctx.printer.json(&reports);
    } else {
        for (i, r) in reports.iter().filter(|r| r.error.is_none()).enumerate() {
            if i > 0 {
                ctx.printer.out("");
            }
            for line in render(r) {
                ctx.printer.out(&line);
            }
        }
    }
    let mut failed = false;
    for r in &reports {
        if let Some(e) = &r.logs_error {
            ctx.printer
                .warn(&format!("{}: cannot read the logs: {e}", r.label()));
        }
        if let Some(e) = &r.error {
            failed = true;
            let message = if e.message.contains(&e.command) {
                format!("{}: {}", r.label(), e.message)
            } else {
                format!("{}: `{}` failed: {}", r.label(), e.command, e.message)
            };
            ctx.printer.error(&message);
            if let Some(h) = e.hint {
                ctx.printer.hint(h);
            }
        }
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// The services `status` reports on: every one without a target; those named `service` (a
/// service or Fly app name) across environments with only `--app`; else the target's.
fn select<'c>(
    config: &'c Config,
    target: Option<&str>,
    service: Option<&str>,
) -> anyhow::Result<Vec<&'c Service>> {
    match (target, service) {
        (Some(t), s) => crate::config::resolve(config, t, s),
        (None, None) => Ok(config.services().collect()),
        (None, Some(name)) => {
            let found: Vec<&Service> = config
                .services()
                .filter(|s| s.name == name || s.app == name)
                .collect();
            if found.is_empty() {
                let mut names: Vec<&str> = config.services().map(|s| s.name.as_str()).collect();
                names.dedup();
                let hint = crate::config::closest(name, names.iter().copied()).map_or_else(
                    || format!("services: {}", names.join(", ")),
                    |b| format!("did you mean `{b}`?"),
                );
                anyhow::bail!("no environment has a service `{name}`\nhint: {hint}");
            }
            Ok(found)
        }
    }
}

/// Asks the platform about one app. Never fails: a failure is kept in the report.
async fn report<P: Platform>(platform: &P, service: &Service, with_logs: bool) -> AppReport {
    let mut r = AppReport::new(service);
    // Releases too, so that `image` is the one `baseline` would record (a failed release's
    // image does not win a tie against the last complete one).
    let (status, releases) = tokio::join!(
        platform.status(&service.app),
        platform.releases(&service.app)
    );
    let (status, releases) = match (status, releases) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(e), _) | (_, Err(e)) => {
            r.error = Some(app_error(e));
            return r;
        }
    };
    let fleet = Baseline::from_status(&status, &releases);
    r.version = (status.version > 0).then_some(status.version);
    r.status = Some(status.status.clone());
    r.image = fleet.image;
    r.mixed_images = fleet.mixed_images;
    r.checks = CheckCounts::of(&status.machines);
    r.machines = status
        .machines
        .iter()
        .map(|m| MachineRow {
            id: m.id.clone(),
            region: m.region.clone(),
            state: m.state.clone(),
            image: m.image.clone(),
            release_version: m.release_version,
            checks: CheckCounts::of(std::slice::from_ref(m)),
        })
        .collect();
    if with_logs {
        match platform.logs(&service.app, LOG_WAIT).await {
            Ok(mut logs) => {
                let skip = logs.len().saturating_sub(LOG_LINES);
                logs.drain(..skip);
                r.logs = Some(logs);
            }
            Err(e) => r.logs_error = Some(e.message),
        }
    }
    r
}

fn app_error(e: PlatformError) -> AppError {
    let hint = e.hint();
    AppError {
        kind: e.kind,
        command: e.command,
        message: e.message,
        hint,
    }
}

/// The human form of one app: a header line, the fleet's image, regions, checks, then one row per
/// machine.
fn render(r: &AppReport) -> Vec<String> {
    let version = r
        .version
        .map_or_else(|| "no release".to_owned(), |v| format!("v{v}"));
    let mut lines = vec![format!(
        "{}/{}  {}  {}  {}  {}",
        r.env,
        r.service,
        r.app,
        version,
        r.status.as_deref().unwrap_or("?"),
        r.url
    )];
    if r.machines.is_empty() {
        lines.push("  machines  none".to_owned());
    } else {
        lines.push(format!("  image     {}", image_line(r)));
        lines.push(format!("  regions   {}", regions_line(r)));
        lines.push(format!("  checks    {}", counts_line(r.checks)));
        let mut rows = vec![vec![
            "ID".to_owned(),
            "REGION".to_owned(),
            "STATE".to_owned(),
            "VERSION".to_owned(),
            "CHECKS".to_owned(),
            "IMAGE".to_owned(),
        ]];
        for m in &r.machines {
            rows.push(vec![
                m.id.clone(),
                m.region.clone(),
                m.state.clone(),
                m.release_version
                    .map_or_else(|| "-".to_owned(), |v| v.to_string()),
                m.checks.summary(),
                if m.image.is_empty() {
                    "-".to_owned()
                } else {
                    m.image.clone()
                },
            ]);
        }
        lines.extend(table(&rows).into_iter().map(|l| format!("  {l}")));
    }
    if let Some(logs) = &r.logs {
        if logs.is_empty() {
            lines.push(format!(
                "  logs      none within {}",
                crate::duration::format(LOG_WAIT)
            ));
        } else {
            lines.push("  logs".to_owned());
            for l in logs {
                lines.push(format!(
                    "    {} {} {} [{}] {}",
                    l.timestamp, l.instance, l.region, l.level, l.message
                ));
            }
        }
    }
    lines
}

/// The fleet's image, or how the machines split when they disagree.
fn image_line(r: &AppReport) -> String {
    if !r.mixed_images {
        return r.image.clone().unwrap_or_else(|| "-".to_owned());
    }
    // The machines that make the fleet's image, as in `Baseline::from_status`: the started
    // ones, or all when none is started. image -> (machines on it, their highest release).
    let any_started = r.machines.iter().any(|m| m.state == "started");
    let mut split: BTreeMap<&str, (usize, Option<u64>)> = BTreeMap::new();
    for m in r
        .machines
        .iter()
        .filter(|m| !m.image.is_empty() && (!any_started || m.state == "started"))
    {
        let e = split.entry(m.image.as_str()).or_insert((0, None));
        e.0 += 1;
        e.1 = e.1.max(m.release_version);
    }
    // The fleet's image first, then by most machines and the newest release.
    let mut split: Vec<(&str, (usize, Option<u64>))> = split.into_iter().collect();
    split.sort_by_key(|(image, key)| (r.image.as_deref() != Some(*image), std::cmp::Reverse(*key)));
    let parts: Vec<String> = split
        .iter()
        .map(|(image, (n, v))| {
            let v = v.map(|v| format!(" (v{v})")).unwrap_or_default();
            format!("{n} on {image}{v}")
        })
        .collect();
    format!("MIXED: {}", parts.join("; "))
}

/// `ams: 1 started, 1 stopped · iad: 2 started`: regions and states in alphabetical order, so
/// the line does not depend on the order flyctl lists machines in.
fn regions_line(r: &AppReport) -> String {
    let mut regions: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for m in &r.machines {
        *regions
            .entry(m.region.as_str())
            .or_default()
            .entry(m.state.as_str())
            .or_default() += 1;
    }
    regions
        .iter()
        .map(|(region, states)| {
            let states: Vec<String> = states.iter().map(|(s, n)| format!("{n} {s}")).collect();
            format!("{region}: {}", states.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn counts_line(c: CheckCounts) -> String {
    format!(
        "{} passing, {} warning, {} critical",
        c.passing, c.warning, c.critical
    )
}

/// Left-aligned columns separated by two spaces; the last column is not padded.
fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
                }
            }
            line
        })
        .collect()
}

/// Runs the futures concurrently on this task and returns their outputs in order. (The runtime
/// is single-threaded and the futures borrow the config, so spawning them would buy nothing.)
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(id: &str, region: &str, state: &str, image: &str, version: u64) -> MachineRow {
        MachineRow {
            id: id.into(),
            region: region.into(),
            state: state.into(),
            image: image.into(),
            release_version: Some(version),
            checks: CheckCounts {
                passing: 1,
                warning: 0,
                critical: 0,
            },
        }
    }

    fn report(machines: Vec<MachineRow>, mixed: bool) -> AppReport {
        AppReport {
            env: "staging".into(),
            service: "web".into(),
            app: "web-staging".into(),
            url: "https://web-staging.fly.dev".into(),
            version: Some(42),
            status: Some("deployed".into()),
            image: Some("img:a".into()),
            mixed_images: mixed,
            machines,
            checks: CheckCounts {
                passing: 3,
                warning: 0,
                critical: 0,
            },
            logs: None,
            logs_error: None,
            error: None,
        }
    }

    #[test]
    fn regions_group_machine_states() {
        let r = report(
            vec![
                machine("1", "iad", "started", "img:a", 42),
                machine("2", "ams", "started", "img:a", 42),
                machine("3", "iad", "started", "img:a", 42),
                machine("4", "ams", "stopped", "img:a", 42),
            ],
            false,
        );
        assert_eq!(
            regions_line(&r),
            "ams: 1 started, 1 stopped · iad: 2 started"
        );
    }

    #[test]
    fn a_mixed_fleet_says_how_it_splits() {
        let r = report(
            vec![
                machine("1", "iad", "started", "img:b", 43),
                machine("2", "iad", "started", "img:a", 42),
                machine("3", "iad", "started", "img:a", 42),
            ],
            true,
        );
        assert_eq!(image_line(&r), "MIXED: 2 on img:a (v42); 1 on img:b (v43)");
    }

    #[test]
    fn the_table_aligns_columns() {
        let rows = vec![
            vec!["ID".to_owned(), "REGION".to_owned(), "X".to_owned()],
            vec!["148ed".to_owned(), "iad".to_owned(), "y".to_owned()],
        ];
        assert_eq!(table(&rows), vec!["ID     REGION  X", "148ed  iad     y"]);
    }

    #[test]
    fn rendering_shows_each_machine_and_its_image() {
        let lines = render(&report(
            vec![machine("148ed193b95089", "iad", "started", "img:a", 42)],
            false,
        ));
        assert_eq!(
            lines[0],
            "staging/web  web-staging  v42  deployed  https://web-staging.fly.dev"
        );
        assert!(lines.iter().any(|l| l.contains("148ed193b95089  iad     started  42       1/1 passing  img:a")), "{lines:#?}");
    }

    #[tokio::test]
    async fn join_all_keeps_the_order() {
        let futures: Vec<_> = [30u64, 0, 10]
            .into_iter()
            .map(|ms| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                ms
            })
            .collect();
        assert_eq!(join_all(futures).await, vec![30, 0, 10]);
    }
}
