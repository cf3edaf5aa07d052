//! The one printer: stdout carries data only (a report, or one JSON document under `--json`);
//! progress, warnings and errors go to stderr. On a terminal, a spinner shows live progress; in
//! CI, every progress line is a plain timestamped line. Everything written is redacted.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use console::Style;
use indicatif::{ProgressBar, ProgressStyle};

use crate::secret;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// How much to say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Removes control characters (terminal escape sequences start with one: ESC, or the C1 CSI)
/// except newlines and tabs. Text from elsewhere — a receiver's body, flyctl's output, an app's
/// answer — passes through here before shipit prints it, so it can never move the cursor,
/// clear the screen or retitle the terminal.
pub fn strip_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let keep = |c: char| c == '\n' || c == '\t' || !c.is_control();
    if text.chars().all(keep) {
        return std::borrow::Cow::Borrowed(text);
    }
    // Whole escape sequences first (so `ESC[2J` leaves nothing, not `[2J`), then lone controls.
    let text = crate::text::strip_ansi(text);
    std::borrow::Cow::Owned(text.chars().filter(|c| keep(*c)).collect())
}

#[cfg(test)]
mod strip_tests {
    #[test]
    fn escapes_and_controls_are_removed_newlines_kept() {
        assert_eq!(
            super::strip_controls("a\u{1b}[2Jb\u{1b}]0;title\u{7}c\rd\n\te\u{9b}f"),
            "abcd\n\tef"
        );
        assert!(matches!(
            super::strip_controls("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}

#[derive(Clone)]
pub struct Printer {
    inner: Arc<Inner>,
}

struct Inner {
    json: bool,
    verbosity: Verbosity,
    color: bool,
    /// stderr is a terminal and we are not in CI: draw spinners instead of plain lines.
    interactive: bool,
    bar: Mutex<Option<ProgressBar>>,
    /// The one JSON document of a `--json` run has been written: a second is refused, and an
    /// error after it does not add an error document.
    document_written: AtomicBool,
    /// Lines written to stderr, kept only when capturing (tests of the printer itself).
    capture: Option<Mutex<Vec<String>>>,
}

impl Printer {
    pub fn new(json: bool, verbosity: Verbosity, color: ColorChoice) -> Printer {
        let stderr_tty = std::io::stderr().is_terminal();
        let ci =
            std::env::var_os(crate::env_vars::CI).is_some() || crate::env_vars::in_github_actions();
        let no_color = crate::env_vars::non_empty(crate::env_vars::NO_COLOR).is_some();
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stderr_tty && !no_color,
        };
        Printer {
            inner: Arc::new(Inner {
                json,
                verbosity,
                color,
                interactive: stderr_tty && !ci,
                bar: Mutex::new(None),
                document_written: AtomicBool::new(false),
                capture: None,
            }),
        }
    }

    /// A printer that keeps its stderr lines in memory, for tests.
    pub fn capturing() -> Printer {
        Printer {
            inner: Arc::new(Inner {
                json: false,
                verbosity: Verbosity::Verbose,
                color: false,
                interactive: false,
                bar: Mutex::new(None),
                document_written: AtomicBool::new(false),
                capture: Some(Mutex::new(Vec::new())),
            }),
        }
    }

    /// The stderr lines a capturing printer kept.
    pub fn captured(&self) -> Vec<String> {
        self.inner
            .capture
            .as_ref()
            .map(|c| {
                c.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone()
            })
            .unwrap_or_default()
    }

    pub fn json_mode(&self) -> bool {
        self.inner.json
    }

    pub fn verbose(&self) -> bool {
        self.inner.verbosity >= Verbosity::Verbose
    }

    pub fn interactive(&self) -> bool {
        self.inner.interactive
    }

    /// A line of human-readable data on stdout (skipped under `--json`, where the command
    /// prints one document instead).
    pub fn out(&self, text: &str) {
        let text: &str = &strip_controls(text);
        if self.inner.json {
            return;
        }
        self.with_bar_suspended(|| {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", secret::redact(text));
        });
    }

    /// The one JSON document of a `--json` run, on stdout. Only the first call writes: stdout
    /// must parse as exactly one document, so a second is reported on stderr instead.
    pub fn json<T: serde::Serialize>(&self, value: &T) {
        if self.inner.document_written.swap(true, Ordering::SeqCst) {
            self.warn("a second JSON document was not printed (stdout holds one under --json)");
            return;
        }
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("{{\"error\": \"could not serialize output: {e}\"}}"));
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", secret::redact(&text));
    }

    /// Under `--json`, when no document has been written yet: the error as the run's one
    /// document, `{"error": {"kind", "message", "hint"}}`, so a script always gets JSON.
    pub fn json_error(&self, kind: &str, message: &str, hint: Option<&str>) {
        if !self.inner.json || self.inner.document_written.load(Ordering::SeqCst) {
            return;
        }
        self.json(&serde_json::json!({
            "error": { "kind": kind, "message": message, "hint": hint }
        }));
    }

    /// A stage of work starting or ending: `==> deploying hotdash-staging`.
    pub fn step(&self, text: &str) {
        let text: &str = &strip_controls(text);
        if self.inner.verbosity == Verbosity::Quiet {
            return;
        }
        let arrow = self.paint(&Style::new().cyan().bold(), "==>");
        let body = self.paint(&Style::new().bold(), text);
        self.err_line(&format!("{arrow} {body}"));
    }

    /// A progress detail: one probe, one check, one line of flyctl's output.
    pub fn info(&self, text: &str) {
        let text: &str = &strip_controls(text);
        if self.inner.verbosity == Verbosity::Quiet {
            return;
        }
        self.err_line(text);
    }

    /// Shown only with `-v` (or `RUNNER_DEBUG=1`).
    pub fn debug(&self, text: &str) {
        let text: &str = &strip_controls(text);
        if self.verbose() {
            let dim = self.paint(&Style::new().dim(), text);
            self.err_line(&dim);
        }
    }

    pub fn success(&self, text: &str) {
        let text: &str = &strip_controls(text);
        let mark = self.paint(&Style::new().green().bold(), "ok:");
        self.err_line(&format!("{mark} {text}"));
    }

    pub fn warn(&self, text: &str) {
        let text: &str = &strip_controls(text);
        let label = self.paint(&Style::new().yellow().bold(), "warning:");
        self.err_line(&format!("{label} {text}"));
    }

    /// An error and its optional hint, as the last words of a failed command.
    pub fn error(&self, text: &str) {
        let text: &str = &strip_controls(text);
        let label = self.paint(&Style::new().red().bold(), "error:");
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        self.err_line(&format!("{label} {first}"));
        for line in lines {
            self.err_line(line);
        }
    }

    pub fn hint(&self, text: &str) {
        let text: &str = &strip_controls(text);
        let label = self.paint(&Style::new().cyan().bold(), "hint:");
        self.err_line(&format!("{label} {text}"));
    }

    /// A GitHub Actions workflow command, written to stderr, which the runner reads like stdout,
    /// so that `--json` keeps stdout to one document. Still redacted: masks are added with
    /// [`Printer::add_mask`], the only unredacted write.
    pub fn workflow_command(&self, text: &str) {
        self.err_raw(&secret::redact(text));
    }

    /// `::add-mask::VALUE`: the one place a secret's value is written, to tell the runner to
    /// hide it from the log.
    pub fn add_mask(&self, value: &str) {
        let escaped = crate::text::escape_data(value);
        self.err_raw(&format!("::add-mask::{escaped}"));
    }

    /// Shows `text` as live progress: a spinner on a terminal, a plain line otherwise.
    pub fn progress(&self, text: &str) {
        let text: &str = &strip_controls(text);
        if self.inner.verbosity == Verbosity::Quiet {
            return;
        }
        if self.inner.interactive {
            let mut bar = self
                .inner
                .bar
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let pb = bar.get_or_insert_with(|| {
                let pb = ProgressBar::new_spinner();
                pb.set_style(
                    ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                pb.enable_steady_tick(Duration::from_millis(100));
                pb
            });
            pb.set_message(secret::redact(text).into_owned());
        } else {
            self.err_line(text);
        }
    }

    /// Ends any live progress display.
    pub fn finish_progress(&self) {
        let mut bar = self
            .inner
            .bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(pb) = bar.take() {
            pb.finish_and_clear();
        }
    }

    fn paint(&self, style: &Style, text: &str) -> String {
        if self.inner.color {
            style.apply_to(text).force_styling(true).to_string()
        } else {
            text.to_owned()
        }
    }

    fn err_line(&self, text: &str) {
        let text = secret::redact(text);
        if self.inner.interactive {
            self.err_raw(&text);
            return;
        }
        // Every line of a multi-line message gets the same prefix, so text laid out under the
        // first line (a caret under a bad condition) stays aligned in CI logs.
        let stamp = format!("[{}] ", crate::timefmt::clock(SystemTime::now()));
        let line: Vec<String> = text.lines().map(|l| format!("{stamp}{l}")).collect();
        self.err_raw(&line.join("\n"));
    }

    fn err_raw(&self, line: &str) {
        if let Some(capture) = &self.inner.capture {
            capture
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line.to_owned());
            return;
        }
        self.with_bar_suspended(|| {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{line}");
        });
    }

    fn with_bar_suspended(&self, f: impl FnOnce()) {
        let bar = self
            .inner
            .bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match bar.as_ref() {
            Some(pb) => pb.suspend(f),
            None => f(),
        }
    }
}
