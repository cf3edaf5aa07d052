//! What happens at the end of every run that changes or checks something: the evidence entry and
//! receipt, under GitHub Actions the annotations, job summary and outputs, and the
//! notifications. Nothing here can fail the run: every problem becomes a warning.

use std::fmt::Write as _;

use crate::config::Config;
use crate::evidence;
use crate::github;
use crate::notify;
use crate::report::RunRecord;
use crate::store::local::LocalStore;

/// Records and announces a finished run. Never fails the run: problems become warnings.
///
/// Order matters: the evidence goes first (it must survive whatever comes after), the GitHub
/// files next (the runner reads them when the step ends), and the notifications last, because
/// they may take up to [`notify::TOTAL_CAP`].
///
/// Returns the sentence to repeat in the run's last lines when the configured store could not
/// be written (the record was not updated; where the local copy is).
pub(crate) async fn finish(
    ctx: &super::Ctx,
    config: &Config,
    record: &RunRecord,
) -> Option<String> {
    let p = &ctx.printer;
    let not_recorded = record_run(ctx, config, record).await;
    if ctx.github {
        github::annotate_gates(p, record);
        let mut summary = github::summary_markdown(record);
        if let Some(note) = &not_recorded {
            let _ = write!(
                summary,
                "\n> **Warning:** {}\n",
                crate::secret::redact(note)
            );
        }
        if let Err(e) = github::append_summary(&summary) {
            warn(ctx, "job summary not written", &format!("{e:#}"));
        }
        if let Err(e) = github::write_run_outputs(record) {
            warn(ctx, "step outputs not written", &format!("{e:#}"));
        }
    }
    notify::send_all(&config.notify, record.event, record, p).await;
    not_recorded
}

/// Appends the run to the record (the evidence entry and the receipt). A store that cannot be
/// reached or written is a warning, never a failed run: the run is then kept in the local files
/// (`store: local`'s), and the returned sentence says so.
async fn record_run(ctx: &super::Ctx, config: &Config, record: &RunRecord) -> Option<String> {
    let p = &ctx.printer;
    let failure = match crate::store::open(config) {
        Ok(store) => match store.append_run(record).await {
            Ok(()) => {
                p.info(&format!("evidence: {}", store.written_to(record)));
                record_promotions(ctx, config, store.as_ref(), record).await;
                return None;
            }
            Err(e) => (store.describe(), e),
        },
        Err(e) => (config.store.kind().to_owned(), e),
    };
    let (store, e) = failure;
    if config.store.is_local() {
        warn(ctx, "evidence not written", &format!("{e:#}"));
        return None;
    }
    let local = LocalStore::new(&config.evidence);
    let kept = match local.write_run(record) {
        Ok(()) => format!(
            "the receipt is kept locally in {}",
            evidence::display_path(&local.receipt_path(&record.id))
        ),
        Err(local_error) => format!("and no local copy could be written either: {local_error:#}"),
    };
    warn(
        ctx,
        "record not updated",
        &format!("{store}: {e:#}; {kept}"),
    );
    Some(format!("the record ({store}) was not updated; {kept}"))
}

/// After a deploy or a promotion, every service that passed records which image passed its
/// environment's gates (and whether every gate ran), so a later `shipit promote` can trust it.
async fn record_promotions(
    ctx: &super::Ctx,
    config: &Config,
    store: &dyn crate::store::Store,
    record: &RunRecord,
) {
    use crate::report::RunKind;
    if !matches!(record.kind, RunKind::Deploy | RunKind::Promote) {
        return;
    }
    for s in &record.services {
        let svc = config
            .services()
            .find(|c| c.env == s.env && c.name == s.service);
        let unconfigured = crate::promotion::unconfigured_gates(config, svc);
        let Some(p) =
            crate::promotion::promotion_for(record, s, s.proved_by.clone(), &unconfigured)
        else {
            continue;
        };
        if let Err(e) = store.add_promotion(&p).await {
            warn(ctx, "promotion not recorded", &format!("{}: {e:#}", s.app));
        }
    }
}

/// The evidence and the GitHub files of a run, without notifications: for a run refused before
/// it changed or announced anything (another run holds the lock), which nobody needs to be
/// told about but the record keeps.
pub(crate) async fn record_only(ctx: &super::Ctx, config: &Config, record: &RunRecord) {
    let p = &ctx.printer;
    if let Some(note) = record_run(ctx, config, record).await {
        p.warn(&note);
    }
    if ctx.github {
        github::annotate_gates(p, record);
        if let Err(e) = github::append_summary(&github::summary_markdown(record)) {
            warn(ctx, "job summary not written", &format!("{e:#}"));
        }
        if let Err(e) = github::write_run_outputs(record) {
            warn(ctx, "step outputs not written", &format!("{e:#}"));
        }
    }
}

fn warn(ctx: &super::Ctx, title: &str, text: &str) {
    ctx.printer.warn(&format!("{title}: {text}"));
    github::annotate(&ctx.printer, github::Level::Warning, title, text);
}

/// Records a run that only reports (`cost`): the evidence entry and receipt and, under Actions,
/// the job summary, but no notification: a report is read when wanted, it never alarms.
pub(crate) async fn record_report(ctx: &super::Ctx, config: &Config, record: &RunRecord) {
    record_run(ctx, config, record).await;
    if ctx.github
        && let Err(e) = github::append_summary(&github::summary_markdown(record))
    {
        warn(ctx, "job summary not written", &format!("{e:#}"));
    }
}
