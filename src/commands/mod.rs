//! One file per subcommand. Each takes the shared [`Ctx`] and its own plain arguments, and
//! returns the [`Outcome`] that picks the exit code. Domain logic lives in the modules named for
//! what they are (`pipeline`, `probe`, `smoke`, `notify`, `evidence`, `platform`).

pub(crate) mod baseline;
pub(crate) mod check;
pub(crate) mod config_check;
pub(crate) mod cost;
pub(crate) mod db;
pub(crate) mod demo;
pub(crate) mod deploy;
pub(crate) mod drill;
pub(crate) mod explain;
pub(crate) mod finish;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod init;
pub(crate) mod notify_test;
pub(crate) mod parity;
pub(crate) mod plan;
pub(crate) mod promote;
pub(crate) mod releases;
pub(crate) mod report;
pub(crate) mod rollback;
pub(crate) mod runbook;
pub(crate) mod smoke;
pub(crate) mod status;
pub(crate) mod store;
pub(crate) mod watch;

use std::path::PathBuf;

use anyhow::Context as _;

use crate::config::Config;
use crate::exit::Outcome;
use crate::pipeline::{ClockSeam, PlatformSeam, ProberSeam, StateDir};
use crate::platform::fly::Fly;
use crate::printer::Printer;
use crate::settings::Settings;
use crate::stop::Stop;

/// What every command gets: how to print, where the config is, and the run's stop signal.
pub(crate) struct Ctx {
    pub(crate) printer: Printer,
    pub(crate) config_path: PathBuf,
    /// Fires on SIGINT/SIGTERM.
    pub(crate) stop: Stop,
    /// Running as a GitHub Actions step.
    pub(crate) github: bool,
}

impl Ctx {
    /// Loads and validates the config; every error names the file and place.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        let config = crate::config::load(&self.config_path)?;
        // Its `${VAR}` values are secrets from now on: mask them before anything is printed.
        if self.github {
            crate::github::mask_new_secrets(&self.printer);
        }
        Ok(config)
    }

    /// The Fly adapter, with flyctl located (`SHIPIT_FLYCTL`, then flyctl, then fly on PATH).
    pub(crate) fn fly(&self) -> anyhow::Result<Fly> {
        Fly::locate()
            .map(|fly| fly.watching(self.stop.clone()))
            .context("cannot run flyctl")
    }
}

/// Runs a command with its resolved settings.
pub(crate) async fn dispatch(ctx: &Ctx, settings: Settings) -> anyhow::Result<Outcome> {
    match settings {
        Settings::Deploy(s) => deploy::run(ctx, s).await,
        Settings::Rollback(s) => rollback::run(ctx, s).await,
        Settings::Status(s) => status::run(ctx, s.target.as_deref(), s.service.as_deref()).await,
        Settings::Baseline(s) => baseline::run(ctx, &s).await,
        Settings::Health(s) => health::run(ctx, &s.target, s.service.as_deref()).await,
        Settings::Smoke(s) => {
            smoke::run(
                ctx,
                &s.target.target,
                s.target.service.as_deref(),
                s.junit.as_deref(),
            )
            .await
        }
        Settings::Plan(s) => plan::run(ctx, s).await,
        Settings::NotifyTest => notify_test::run(ctx).await,
        Settings::History(s) if s.drills => history::drills(ctx, s.app.as_deref(), s.limit).await,
        Settings::History(s) => history::run(ctx, s.app.as_deref(), s.limit).await,
        Settings::Explain(s) => explain::run(ctx, &s.run).await,
        Settings::ConfigCheck => config_check::run(ctx),
        Settings::Init(s) => {
            let test = init::TestChoice::from_flags(s.test.clone(), s.no_test);
            init::run(ctx, s.dir.as_deref(), &s.name, s.force, test, s.store)
        }
        Settings::Demo(s) => demo::run(ctx, s.dir.as_deref(), s.force).await,
        Settings::Report(s) => report::run(ctx, &s).await,
        Settings::Cost(s) => cost::run(ctx, s.target.as_deref(), s.service.as_deref()).await,
        Settings::Runbook(s) => runbook::run(ctx, s.out.as_deref(), s.check),
        Settings::Db(s) => db::run(ctx, s).await,
        Settings::Parity(s) => parity::run(ctx, s).await,
        Settings::Promote(s) => promote::run(ctx, s).await,
        Settings::Check(s) => check::run(ctx, s.env.as_deref(), s.service.as_deref()).await,
        Settings::Watch(s) => watch::run(ctx, &s).await,
        Settings::Releases(s) => releases::run(ctx, &s.target, s.service.as_deref()).await,
        Settings::Drill(s) => drill::run(ctx, s).await,
        Settings::StoreMigrate(s) => store::migrate(ctx, s.from).await,
    }
}

/// A new run record, stamped now, with the GitHub context when there is one.
pub(crate) fn new_record(
    kind: crate::report::RunKind,
    env: Option<String>,
    started: std::time::SystemTime,
) -> crate::report::RunRecord {
    let (run_url, sha, actor) = crate::report::RunRecord::github_context();
    crate::report::RunRecord {
        id: crate::timefmt::run_id(started),
        kind,
        env,
        started_at: crate::timefmt::rfc3339(started),
        finished_at: String::new(),
        duration_ms: 0,
        outcome: Outcome::Success,
        event: crate::event::Event::Started,
        services: Vec::new(),
        summary: String::new(),
        run_url,
        sha,
        actor,
    }
}

/// The pipeline's dependencies for a real run: the platform, the prober and the clock given,
/// the rollback target under `state_dir`, and GitHub step outputs and log groups when running
/// under Actions.
pub(crate) fn pipeline_deps<'a>(
    ctx: &'a Ctx,
    platform: &'a dyn PlatformSeam,
    prober: &'a dyn ProberSeam,
    clock: &'a dyn ClockSeam,
    state_dir: &std::path::Path,
) -> crate::pipeline::Deps<'a> {
    let github = ctx.github;
    let printer = &ctx.printer;
    crate::pipeline::Deps {
        platform,
        prober,
        clock,
        printer,
        stop: &ctx.stop,
        state: Box::new(StateDir(state_dir.to_owned())),
        database: Box::new(crate::pipeline::LiveDatabase {
            config_dir: ctx
                .config_path
                .parent()
                .map_or_else(|| ".".into(), std::path::Path::to_path_buf),
        }),
        metrics: None,
        fleet_poll: std::time::Duration::from_secs(2),
        output: Box::new(move |key, value| {
            if github && let Err(e) = crate::github::write_output(key, value) {
                printer.warn(&format!("cannot write the step output `{key}`: {e:#}"));
            }
        }),
        // flyctl's output is someone else's text (build logs): inside the group, workflow
        // commands are paused, so a `::add-mask::` or `::error::` line in it is shown, not obeyed.
        group: {
            let open = std::cell::RefCell::new(None);
            Box::new(move |name| match name {
                Some(n) if github => {
                    *open.borrow_mut() = Some(crate::github::group_untrusted(printer, n));
                }
                _ => drop(open.borrow_mut().take()),
            })
        },
    }
}

/// Sets the run's outcome, event and one-line summary from its services' results.
pub(crate) fn close_record(run: &mut crate::report::RunRecord, elapsed: std::time::Duration) {
    use crate::event::Event;
    use crate::report::ServiceResult as R;
    let has = |r: R| run.services.iter().any(|s| s.result == r);
    let (outcome, event) = if has(R::RollbackFailed) {
        (Outcome::NeedsHuman, Event::RollbackFailed)
    } else if has(R::Cancelled) {
        (Outcome::Cancelled, Event::Cancelled)
    } else if has(R::RolledBack) {
        (Outcome::RolledBack, Event::RolledBack)
    } else if has(R::FailedBeforeChange) || has(R::Unhealthy) {
        (Outcome::Failed, Event::Failed)
    } else {
        (Outcome::Success, Event::Succeeded)
    };
    run.outcome = outcome;
    run.event = event;
    run.finished_at = crate::timefmt::now();
    run.duration_ms = elapsed.as_millis() as u64;
    let parts: Vec<String> = run
        .services
        .iter()
        .map(|s| format!("{}: {}", s.app, service_line(run.kind, s)))
        .collect();
    let head = match outcome {
        Outcome::Success => "succeeded",
        // A service kept on its new release (`on_partial: keep`, `rollback: off`, a first
        // deploy) is live on it: only the others are back on their previous release.
        Outcome::RolledBack if has(R::Succeeded) => {
            "failed and rolled back part way: the services rolled back are on their previous release and healthy, those marked live run their new one"
        }
        Outcome::RolledBack => "failed and rolled back: the previous release is live and healthy",
        Outcome::NeedsHuman => "failed and NOT recovered: a human must act now",
        Outcome::Cancelled => "cancelled",
        // A service kept on its new release (`on_partial: keep`) was changed: never say nothing was.
        Outcome::Failed | Outcome::Usage if has(R::Succeeded) => {
            "failed part way: the services marked live run their new release, the others were not changed"
        }
        Outcome::Failed | Outcome::Usage => "failed; nothing was changed",
    };
    run.summary = format!("{} {head} ({})", run.kind.name(), parts.join("; "));
}

/// One service's end state in a few words: `v42 live`, `rolled back to v41`...
pub(crate) fn service_line(
    kind: crate::report::RunKind,
    s: &crate::report::ServiceRecord,
) -> String {
    use crate::report::ServiceResult as R;
    // A rollback is a new Fly release of an old image: say whose image it is, so "v5" is not
    // mistaken for something new.
    let rel = |r: Option<&crate::report::ReleaseRef>| match r {
        Some(r) => {
            let name = r.short();
            // The release whose image this is: the run's start (a rollback after a failed
            // deploy) or its target (`shipit rollback`).
            let original = [s.from.as_ref(), s.to.as_ref()]
                .into_iter()
                .flatten()
                .find(|o| o.image == r.image && o.version != r.version);
            match original.and_then(|o| o.version) {
                Some(v) => format!("{name} (the image of v{v})"),
                None => name,
            }
        }
        None => "unknown".into(),
    };
    match s.result {
        R::Succeeded => format!("{} live", rel(s.live.as_ref().or(s.to.as_ref()))),
        R::RolledBack
            if s.reason
                .as_deref()
                .is_some_and(|r| r.starts_with(crate::release_verdict::WITH_THE_ENVIRONMENT)) =>
        {
            format!(
                "{} rolled back with the environment; back on {}",
                rel(s.to.as_ref()),
                rel(s.live.as_ref())
            )
        }
        R::RolledBack => format!(
            "{} failed; back on {}",
            rel(s.to.as_ref()),
            rel(s.live.as_ref())
        ),
        R::RollbackFailed => format!("failed, not recovered, live: {}", rel(s.live.as_ref())),
        R::FailedBeforeChange => format!("refused, {} still live", rel(s.from.as_ref())),
        R::NotStarted => format!("not started, {} still live", rel(s.from.as_ref())),
        R::Cancelled => {
            // The last line of a cancelled run says what is live and how to go back (DESIGN.md).
            let rollback = |r: &crate::report::ReleaseRef| {
                let to = r.version.map(|v| format!(" --to {v}")).unwrap_or_default();
                format!("shipit rollback {}{to}", s.app)
            };
            let back = match (&s.from, &s.to) {
                // No deploy call was made: nothing changed, whatever a last look could see.
                _ if s.flyctl.is_empty() => "; nothing was changed".to_owned(),
                // A manual rollback stopped half way: the way on is the same rollback again.
                (_, Some(to)) if kind == crate::report::RunKind::Rollback => {
                    format!("; to finish the rollback: {}", rollback(to))
                }
                (Some(from), _) if s.live.as_ref() == Some(from) => String::new(),
                // The automatic rollback had put the image back but its gate had no verdict.
                (Some(from), _) if s.live.as_ref().is_some_and(|l| l.image == from.image) => {
                    format!(
                        ", its health gate unfinished; to finish the rollback: {}",
                        rollback(from)
                    )
                }
                (Some(from), _) => format!("; to go back: {}", rollback(from)),
                (None, _) => String::new(),
            };
            format!("cancelled, live: {}{back}", rel(s.live.as_ref()))
        }
        R::Unhealthy => "unhealthy".into(),
        R::Planned => "planned".into(),
    }
}

/// The last lines of a run: what failed, what was done, what runs now.
pub(crate) fn last_words(ctx: &Ctx, run: &crate::report::RunRecord) {
    match run.outcome {
        Outcome::Success => ctx.printer.success(&run.summary),
        Outcome::RolledBack | Outcome::Failed | Outcome::Usage => ctx.printer.warn(&run.summary),
        Outcome::NeedsHuman | Outcome::Cancelled => ctx.printer.error(&run.summary),
    }
}

/// Prints an error message the way `run` would, for errors a command handles itself.
pub(crate) fn report_error_text(ctx: &Ctx, text: &str) {
    match text.split_once("\nhint: ") {
        Some((m, h)) => {
            ctx.printer.error(m);
            ctx.printer.hint(h);
        }
        None => ctx.printer.error(text),
    }
}

/// Prints a warning with its optional `hint:` line.
pub(crate) fn report_warning_text(ctx: &Ctx, text: &str) {
    match text.split_once("\nhint: ") {
        Some((m, h)) => {
            ctx.printer.warn(m);
            ctx.printer.hint(h);
        }
        None => ctx.printer.warn(text),
    }
}

/// Tells the channels that want `event` about the run; failures are warnings.
pub(crate) async fn announce(
    ctx: &Ctx,
    config: &Config,
    event: crate::event::Event,
    run: &crate::report::RunRecord,
) {
    let _ = crate::notify::send_all(&config.notify, event, run, &ctx.printer).await;
}

/// The record of a service skipped because an earlier one failed, with the release it is left
/// on (a read-only look), so the run's summary says which service runs what.
pub(crate) async fn not_started(
    platform: &dyn PlatformSeam,
    svc: &crate::config::Service,
) -> crate::report::ServiceRecord {
    let mut r = crate::report::ServiceRecord::new(&svc.env, &svc.name, &svc.app, svc.url.shown());
    r.result = crate::report::ServiceResult::NotStarted;
    r.reason = Some("not started because an earlier service failed".into());
    if let Ok(status) = platform.status(&svc.app).await {
        let releases = platform.releases(&svc.app).await.unwrap_or_default();
        r.from = crate::baseline::Baseline::from_status(&status, &releases).release_ref();
        r.live.clone_from(&r.from);
    }
    r
}

/// Ends a check run (health, smoke, baseline): says the verdict, stamps the record with its end,
/// outcome and event (`failure` when it did not succeed), and hands it to [`finish::finish`].
pub(crate) async fn end_check_run(
    ctx: &Ctx,
    config: &Config,
    mut record: crate::report::RunRecord,
    started: std::time::Instant,
    outcome: Outcome,
    failure: crate::event::Event,
) -> Outcome {
    use crate::event::Event;
    if outcome == Outcome::Success {
        ctx.printer.success(&record.summary);
    } else {
        ctx.printer.error(&record.summary);
    }
    record.finished_at = crate::timefmt::now();
    record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    record.outcome = outcome;
    record.event = match outcome {
        Outcome::Success => Event::Succeeded,
        Outcome::Cancelled => Event::Cancelled,
        _ => failure,
    };
    // A scheduled check says the same thing every few hours: chat hears of it only when the
    // verdict changes (a first failure, a recovery, a different failure), never per passing run.
    match previous_check(config, &record) {
        Some(prev) if prev.outcome == record.outcome => {
            finish::record_only(ctx, config, &record).await;
            ctx.printer.info(&format!(
                "verdict unchanged since run {}: no notification",
                prev.id
            ));
        }
        None if outcome == Outcome::Success => {
            finish::record_only(ctx, config, &record).await;
            ctx.printer
                .info("healthy, and no earlier check on record: no notification");
        }
        _ => {
            if let Some(note) = finish::finish(ctx, config, &record).await {
                report_warning_text(ctx, &note);
            }
        }
    }
    outcome
}

/// The newest earlier run of the same check (kind, environment and apps) in the receipts.
fn previous_check(
    config: &Config,
    record: &crate::report::RunRecord,
) -> Option<crate::report::RunRecord> {
    let apps = |r: &crate::report::RunRecord| -> Vec<String> {
        let mut a: Vec<String> = r.services.iter().map(|s| s.app.clone()).collect();
        a.sort();
        a
    };
    let (runs, _) = crate::evidence::receipt::load_all(&config.evidence.runs).ok()?;
    runs.into_iter().find(|r| {
        r.id != record.id && r.kind == record.kind && r.env == record.env && apps(r) == apps(record)
    })
}
