//! What happens at the end of every run that changes or checks something: the evidence entry and
//! receipt, under GitHub Actions the annotations, job summary and outputs, and the
//! notifications. Nothing here can fail the run: every problem becomes a warning.

use crate::config::Config;
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
    record_run(ctx, config, record).await;
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

/// Appends the run to the record (the evidence entry and the receipt). A store that cannot be
/// reached or written is a warning, never a failed run.
async fn record_run(ctx: &super::Ctx, config: &Config, record: &RunRecord) {
    let p = &ctx.printer;
    let store = match crate::store::open(config) {
        Ok(s) => s,
        Err(e) => {
            warn(ctx, "evidence not written", &format!("{e:#}"));
            return;
        }
    };
    match store.append_run(record).await {
        Ok(()) => p.info(&format!("evidence: {}", store.written_to(record))),
        Err(e) => warn(ctx, "evidence not written", &format!("{e:#}")),
    }
}

fn warn(ctx: &super::Ctx, title: &str, text: &str) {
    ctx.printer.warn(&format!("{title}: {text}"));
    github::annotate(&ctx.printer, github::Level::Warning, title, text);
}
