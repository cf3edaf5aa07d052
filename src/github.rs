//! GitHub Actions: workflow commands and their escaping (as `@actions/core` does it), log groups,
//! annotations within the per-step limits, the job summary and step outputs.
//!
//! Everything written here is redacted and free of ANSI codes. The emitting functions do nothing
//! outside Actions (`GITHUB_ACTIONS=true`); the formatting functions are pure, for tests.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;

use crate::env_vars;
use crate::printer::Printer;
use crate::report::{ReleaseRef, RunRecord, ServiceRecord, ServiceResult, Verdict};
use crate::report::{human_duration, image_change, release_change, short_sha};
use crate::secret;

pub use crate::text::{escape_data, escape_property, strip_ansi};

/// The text as it may be written to GitHub: secrets masked, ANSI codes removed.
fn clean(s: &str) -> String {
    strip_ansi(&secret::redact(s))
}

fn in_actions() -> bool {
    env_vars::in_github_actions()
}

// ---------------------------------------------------------------------------------------------
// Masks

/// Secrets already given to the runner with `::add-mask::`.
static MASKED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Tells the runner to hide every registered secret it has not been told about yet. Called at
/// startup (Fly's tokens) and again after the config loads, whose `${VAR}` values become secrets
/// only then; a mask must come before the value could ever be printed.
pub fn mask_new_secrets(printer: &Printer) {
    if !in_actions() {
        return;
    }
    let mut masked = MASKED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for value in secret::all() {
        if !masked.contains(&value) {
            printer.add_mask(&value);
            masked.push(value);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Groups

/// `::group::TITLE`.
pub fn group_command(title: &str) -> String {
    format!("::group::{}", escape_data(&clean(title)))
}

/// A folded section of the log. Ends (`::endgroup::`) when dropped or [`Group::end`]ed; does
/// nothing outside Actions.
#[must_use = "the group ends when this is dropped"]
pub struct Group {
    printer: Option<Printer>,
    /// Set when workflow commands are paused inside the group.
    resume_token: Option<String>,
}

/// Opens a log group for output shipit writes itself.
pub fn group(printer: &Printer, title: &str) -> Group {
    if !in_actions() {
        return Group {
            printer: None,
            resume_token: None,
        };
    }
    printer.workflow_command(&group_command(title));
    Group {
        printer: Some(printer.clone()),
        resume_token: None,
    }
}

/// Opens a log group for output shipit relays from elsewhere (flyctl, a build): workflow
/// commands are paused inside it (`::stop-commands::`), so a `::set-output` or `::add-mask`
/// line in someone else's output is shown, not obeyed.
pub fn group_untrusted(printer: &Printer, title: &str) -> Group {
    let mut g = group(printer, title);
    if let Some(p) = &g.printer {
        let token = format!("shipit-{}", crate::random::hex(16));
        p.workflow_command(&format!("::stop-commands::{token}"));
        g.resume_token = Some(token);
    }
    g
}

impl Group {
    /// Ends the group now.
    pub fn end(self) {}
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(p) = self.printer.take() {
            if let Some(token) = self.resume_token.take() {
                p.workflow_command(&format!("::{token}::"));
            }
            p.workflow_command("::endgroup::");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Annotations

/// An annotation's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// GitHub shows at most this many errors, and as many warnings, per step; the rest are dropped
/// silently, so shipit stops at the limit itself and says so.
pub const ANNOTATIONS_PER_STEP: usize = 10;

static ERRORS: AtomicUsize = AtomicUsize::new(0);
static WARNINGS: AtomicUsize = AtomicUsize::new(0);
static NOTICES: AtomicUsize = AtomicUsize::new(0);

/// `::error title=TITLE::MESSAGE`, escaped and redacted.
pub fn annotation_command(level: Level, title: &str, message: &str) -> String {
    format!(
        "::{} title={}::{}",
        level.command(),
        escape_property(&clean(title)),
        escape_data(&clean(message))
    )
}

/// Emits an annotation under Actions, while this step has not used its quota for the level.
/// Past the quota the text goes to the log as a plain line instead. Returns whether an
/// annotation was emitted.
pub fn annotate(printer: &Printer, level: Level, title: &str, message: &str) -> bool {
    if !in_actions() {
        return false;
    }
    let counter = match level {
        Level::Error => &ERRORS,
        Level::Warning => &WARNINGS,
        Level::Notice => &NOTICES,
    };
    let n = counter.fetch_add(1, Ordering::SeqCst);
    if n < ANNOTATIONS_PER_STEP {
        printer.workflow_command(&annotation_command(level, title, message));
        return true;
    }
    if n == ANNOTATIONS_PER_STEP {
        printer.info(&format!(
            "more than {ANNOTATIONS_PER_STEP} {}s in this step: GitHub would drop the rest, so they are only in this log",
            level.command()
        ));
    }
    printer.info(&format!("{title}: {message}"));
    false
}

/// Annotates every failed gate (`::error`) and every gate that warned (`::warning`).
pub fn annotate_gates(printer: &Printer, record: &RunRecord) {
    for s in &record.services {
        for g in &s.gates {
            let level = match g.verdict {
                Verdict::Fail => Level::Error,
                Verdict::Warn => Level::Warning,
                Verdict::Pass | Verdict::Skipped => continue,
            };
            let title = format!(
                "{}/{} {} gate {}",
                s.env,
                s.service,
                g.name,
                if level == Level::Error {
                    "failed"
                } else {
                    "warned"
                }
            );
            let mut message = format!("{} · observed {}", g.rule, g.observed);
            for d in &g.details {
                let _ = write!(message, "\n{d}");
            }
            annotate(printer, level, &title, &message);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Job summary

/// GitHub refuses a step summary over 1 MiB.
pub const SUMMARY_MAX_BYTES: usize = 1024 * 1024;

/// A Markdown table cell: one line, `|` escaped, HTML neutralised.
pub fn md_cell(s: &str) -> String {
    md_text(s)
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// Markdown prose: HTML neutralised, ANSI removed, secrets masked.
pub fn md_text(s: &str) -> String {
    clean(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The job summary of a run, in GitHub-flavoured Markdown.
pub fn summary_markdown(record: &RunRecord) -> String {
    let r = record;
    let mut md = String::new();
    let mark = match r.outcome {
        crate::exit::Outcome::Success => "✅",
        crate::exit::Outcome::RolledBack | crate::exit::Outcome::Cancelled => "⚠️",
        _ => "❌",
    };
    let target = r.env.clone().unwrap_or_default();
    let _ = writeln!(
        md,
        "## {mark} shipit {} {}: {}\n",
        r.kind.name(),
        md_text(&target),
        r.event.name().replace('_', " ")
    );
    let _ = writeln!(md, "{}\n", md_text(&r.summary));
    if !r.services.is_empty() {
        md.push_str("| Service | App | Result | Release | Image | Live now | Rollback |\n|---|---|---|---|---|---|---|\n");
        for s in &r.services {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                md_cell(&s.service),
                md_cell(&s.app),
                md_cell(s.result.words()),
                md_cell(&release_change(s.from.as_ref(), s.to.as_ref())),
                md_cell(&image_change(s.from.as_ref(), s.to.as_ref()).unwrap_or_default()),
                md_cell(&live(s.live.as_ref())),
                md_cell(&rollback_words(s)),
            );
        }
        md.push('\n');
    }
    for s in &r.services {
        if s.gates.is_empty() && s.decision.is_none() && s.actions.is_empty() {
            continue;
        }
        let _ = writeln!(md, "### {} · {}\n", md_text(&s.service), md_text(&s.app));
        if !s.gates.is_empty() {
            md.push_str("| Gate | Rule | Observed | Verdict |\n|---|---|---|---|\n");
            for g in &s.gates {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} {} |",
                    md_cell(&g.name),
                    md_cell(&g.rule),
                    md_cell(&g.observed),
                    g.verdict.mark(),
                    g.verdict.name()
                );
            }
            md.push('\n');
        }
        if let Some(c) = &s.canary {
            // The canary's figures: samples per side, medians, p95s, U, p-value, effect size.
            md.push_str("**Canary:**\n\n");
            for line in c.lines() {
                let _ = writeln!(md, "- {}", md_text(&line));
            }
            md.push('\n');
        }
        if let Some(d) = &s.decision {
            let _ = writeln!(md, "**Decision:** {}  ", md_text(d));
        }
        if let Some(reason) = &s.reason {
            let _ = writeln!(md, "**Reason:** {}  ", md_text(reason));
        }
        let _ = writeln!(md, "**Rollback:** {}\n", md_text(&rollback_words(s)));
        if !s.actions.is_empty() {
            md.push_str("**Actions taken:**\n\n");
            for a in &s.actions {
                let _ = writeln!(md, "- {}", md_text(&a.replace('\n', " ")));
            }
            md.push('\n');
        }
    }
    let mut footer = format!(
        "Run `{}` · {} · exit {}",
        md_text(&r.id),
        human_duration(r.duration_ms),
        r.outcome.code()
    );
    if let Some(url) = &r.run_url {
        let _ = write!(footer, " · [workflow run]({})", url.replace(')', "%29"));
    }
    if let Some(sha) = &r.sha {
        let _ = write!(footer, " · commit `{}`", md_text(short_sha(sha)));
    }
    let _ = writeln!(footer, " · details: `shipit explain {}`", md_text(&r.id));
    md.push_str(&footer);
    if md.len() > SUMMARY_MAX_BYTES {
        let note = "\n\n_(summary cut at GitHub's 1 MiB limit: `shipit explain` has all of it)_\n";
        let mut cut = SUMMARY_MAX_BYTES - note.len();
        while !md.is_char_boundary(cut) {
            cut -= 1;
        }
        md.truncate(cut);
        md.push_str(note);
    }
    md
}

fn live(r: Option<&ReleaseRef>) -> String {
    r.map_or_else(|| "unknown".to_owned(), ReleaseRef::short)
}

/// What happened about rolling back a service, in words.
pub fn rollback_words(s: &ServiceRecord) -> String {
    let target = s.from.as_ref().map(ReleaseRef::short);
    match s.result {
        ServiceResult::RolledBack => match target {
            Some(t) => format!("rolled back to {t}, healthy again"),
            None => "rolled back, healthy again".to_owned(),
        },
        ServiceResult::RollbackFailed => "failed or impossible: a human must act".to_owned(),
        ServiceResult::Cancelled => "not attempted (cancelled)".to_owned(),
        _ => "not needed".to_owned(),
    }
}

/// Appends Markdown to `$GITHUB_STEP_SUMMARY`. Returns false when that is not set.
pub fn append_summary(markdown: &str) -> anyhow::Result<bool> {
    let Some(path) = env_vars::non_empty(env_vars::GITHUB_STEP_SUMMARY) else {
        return Ok(false);
    };
    append_summary_to(Path::new(&path), markdown)?;
    Ok(true)
}

/// Appends Markdown to a summary file.
pub fn append_summary_to(path: &Path, markdown: &str) -> anyhow::Result<()> {
    let mut text = clean(markdown);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    append(path, &text)
        .with_context(|| format!("cannot write the job summary to {}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Outputs

/// One `$GITHUB_OUTPUT` entry in the heredoc form, which is safe for any value:
/// `KEY<<DELIM\nVALUE\nDELIM\n`. The delimiter must occur in neither.
pub fn output_block(key: &str, value: &str, delimiter: &str) -> anyhow::Result<String> {
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        anyhow::bail!("`{key}` is not a valid output name: use letters, digits, `_` and `-`");
    }
    if value.contains(delimiter) {
        anyhow::bail!("the value of output `{key}` contains the delimiter `{delimiter}`");
    }
    Ok(format!("{key}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// `ghadelimiter_<random>`, as `@actions/core` makes them.
pub fn new_delimiter() -> String {
    format!("ghadelimiter_{}", crate::random::hex(16))
}

/// Sets a step output, for the steps after this one. Returns false when `$GITHUB_OUTPUT` is not
/// set (not under Actions). The pipeline calls it before deploying, to publish the rollback
/// target while nothing has changed yet.
pub fn write_output(key: &str, value: &str) -> anyhow::Result<bool> {
    let Some(path) = env_vars::non_empty(env_vars::GITHUB_OUTPUT) else {
        return Ok(false);
    };
    write_outputs_to(Path::new(&path), &[(key, value.to_owned())])?;
    Ok(true)
}

/// Appends outputs to an output file, all in one write.
pub fn write_outputs_to(path: &Path, outputs: &[(&str, String)]) -> anyhow::Result<()> {
    let mut text = String::new();
    for (key, value) in outputs {
        let value = clean(value);
        // A fresh random delimiter essentially never occurs in the value; when it does, draw
        // another rather than fail.
        let mut block = None;
        for _ in 0..5 {
            if let Ok(b) = output_block(key, &value, &new_delimiter()) {
                block = Some(b);
                break;
            }
        }
        let block = match block {
            Some(b) => b,
            None => output_block(key, &value, &new_delimiter())?,
        };
        text.push_str(&block);
    }
    append(path, &text).with_context(|| format!("cannot write step outputs to {}", path.display()))
}

/// The outputs of a finished run. With several services, the release fields are those of the
/// first service that deployed something (or the first service).
pub fn outputs(record: &RunRecord) -> Vec<(&'static str, String)> {
    let primary = record
        .services
        .iter()
        .find(|s| s.to.is_some())
        .or_else(|| record.services.first());
    let version = |r: Option<&ReleaseRef>| {
        r.and_then(|r| r.version)
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    let image = |r: Option<&ReleaseRef>| r.map(|r| r.image.clone()).unwrap_or_default();
    let rolled_back = record
        .services
        .iter()
        .any(|s| s.result == ServiceResult::RolledBack)
        || record.event == crate::event::Event::RolledBack;
    vec![
        ("result", record.event.name().to_owned()),
        ("version", version(primary.and_then(|s| s.to.as_ref()))),
        (
            "previous_version",
            version(primary.and_then(|s| s.from.as_ref())),
        ),
        ("image", image(primary.and_then(|s| s.to.as_ref()))),
        (
            "previous_image",
            image(primary.and_then(|s| s.from.as_ref())),
        ),
        ("rolled_back", rolled_back.to_string()),
        ("url", primary.map(|s| s.url.clone()).unwrap_or_default()),
        ("run_id", record.id.clone()),
    ]
}

/// Writes [`outputs`] to `$GITHUB_OUTPUT`. Returns false when that is not set.
pub fn write_run_outputs(record: &RunRecord) -> anyhow::Result<bool> {
    let Some(path) = env_vars::non_empty(env_vars::GITHUB_OUTPUT) else {
        return Ok(false);
    };
    write_outputs_to(Path::new(&path), &outputs(record))?;
    Ok(true)
}

/// One `write_all` on an append-mode handle: the runner reads these files after the step, and
/// an entry is never left half-written by a second writer in between.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_actions_toolkit() {
        assert_eq!(escape_data("50%\r\ndone"), "50%25%0D%0Adone");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            annotation_command(Level::Error, "web: health, gate", "line 1\nline 2 (100%)"),
            "::error title=web%3A health%2C gate::line 1%0Aline 2 (100%25)"
        );
    }

    #[test]
    fn ansi_codes_are_stripped() {
        assert_eq!(strip_ansi("\x1b[1;31mred\x1b[0m plain"), "red plain");
        assert_eq!(
            strip_ansi("\x1b]8;;http://x\x1b\\link\x1b]8;;\x07!"),
            "link!"
        );
        assert_eq!(strip_ansi("no codes"), "no codes");
    }

    #[test]
    fn output_blocks_refuse_their_delimiter_and_bad_keys() {
        assert_eq!(
            output_block("url", "a\nb", "ghadelimiter_x").unwrap(),
            "url<<ghadelimiter_x\na\nb\nghadelimiter_x\n"
        );
        assert!(output_block("url", "x ghadelimiter_x y", "ghadelimiter_x").is_err());
        assert!(output_block("bad key", "x", "ghadelimiter_x").is_err());
        assert!(output_block("", "x", "ghadelimiter_x").is_err());
    }

    #[test]
    fn table_cells_stay_in_their_cell() {
        assert_eq!(md_cell("a | b\nc <d>"), "a \\| b<br>c &lt;d&gt;");
    }
}
