//! What happens at the end of every run that changes or checks something: the evidence entry and
//! receipt, under GitHub Actions the annotations, job summary and outputs, and the
//! notifications. Nothing here can fail the run: every problem becomes a warning.

use crate::config::Config;
use crate::evidence;
use crate::github;
use crate::notify;
use crate::report::RunRecord;

/// Records and announces a finished run. Never fails the run: problems become warnings.
///
/// Order matters: the evidence goes first (it must survive whatever comes after), the GitHub
/// files next (the runner reads them when the step ends), and the notifications last, because
/// they may take up to [`notify::TOTAL_CAP`].
pub(crate) async fn finish(ctx: &super::Ctx, config: &Config, record: &RunRecord) {
    let p = &ctx.printer;
    let written = evidence::record(&config.evidence, record);
    match (&written.log, &written.receipt) {
        (Ok(log), Ok(receipt)) => {
            p.info(&format!(
                "evidence: {}, receipt {}",
                evidence::display_path(log),
                evidence::display_path(receipt)
            ));
        }
        (log, receipt) => {
            if let Ok(log) = log {
                p.info(&format!("evidence: {}", evidence::display_path(log)));
            }
            if let Ok(receipt) = receipt {
                p.info(&format!("receipt: {}", evidence::display_path(receipt)));
            }
            for e in [log.as_ref().err(), receipt.as_ref().err()]
                .into_iter()
                .flatten()
            {
                warn(ctx, "evidence not written", &format!("{e:#}"));
            }
        }
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
    notify::send_all(&config.notify, record.event, record, p).await;
}

fn warn(ctx: &super::Ctx, title: &str, text: &str) {
    ctx.printer.warn(&format!("{title}: {text}"));
    github::annotate(&ctx.printer, github::Level::Warning, title, text);
}

/// Records a run that only reports (`cost`): the evidence entry and receipt and, under Actions,
/// the job summary, but no notification: a report is read when wanted, it never alarms.
pub(crate) fn record_report(ctx: &super::Ctx, config: &Config, record: &RunRecord) {
    let p = &ctx.printer;
    let written = evidence::record(&config.evidence, record);
    for (what, result) in [("evidence", &written.log), ("receipt", &written.receipt)] {
        match result {
            Ok(path) => p.info(&format!("{what}: {}", evidence::display_path(path))),
            Err(e) => warn(ctx, &format!("{what} not written"), &format!("{e:#}")),
        }
    }
    if ctx.github
        && let Err(e) = github::append_summary(&github::summary_markdown(record))
    {
        warn(ctx, "job summary not written", &format!("{e:#}"));
    }
}
