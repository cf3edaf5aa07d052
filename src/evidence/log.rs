//! The Markdown deployment log: one entry per run, appended atomically.
//!
//! An entry is framed by `<!-- shipit:run ID -->` and `<!-- /shipit:run ID -->` (invisible when
//! rendered), so tools and tests can split the log back into whole entries. Appending takes an
//! exclusive lock on a sidecar file (`.deployment.md.lock` next to the log), then writes the whole
//! entry with one `write_all` on an `O_APPEND` handle and fsyncs before letting go.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::report::{RunRecord, ServiceRecord, ServiceResult};
use crate::report::{human_duration, image_change, release_change, short_sha};
use crate::secret;

/// What a new log starts with.
pub const HEADER: &str = "# Deployment log\n\nOne entry per shipit run, oldest first. Written by shipit: \
each entry is appended whole; the JSON receipt of a run is in the runs folder (`shipit explain RUN`).\n";

/// How long an append waits for another run to finish its own before giving up (a warning; the
/// run itself is not affected).
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The start and end markers of the entry of run `id`.
pub fn markers(id: &str) -> (String, String) {
    (
        format!("<!-- shipit:run {id} -->"),
        format!("<!-- /shipit:run {id} -->"),
    )
}

/// The Markdown entry of one run, redacted.
pub fn entry(record: &RunRecord) -> String {
    let r = record;
    let at = if r.finished_at.is_empty() {
        crate::timefmt::now()
    } else {
        r.finished_at.clone()
    };
    let id = one_line(&r.id);
    let (start, end) = markers(&id);
    let mut md = String::new();
    let _ = writeln!(md, "\n{start}");
    let target = r
        .env
        .as_deref()
        .map(|e| format!(" {e}"))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "## {at} · {}{} · {}\n",
        r.kind.name(),
        one_line(&target),
        r.event.name().replace('_', " ")
    );
    let _ = writeln!(
        md,
        "- **Run:** `{id}` · {} · {} · exit {} ({})",
        r.kind.name(),
        human_duration(r.duration_ms),
        r.outcome.code(),
        r.event.name()
    );
    let _ = writeln!(md, "- **Summary:** {}", one_line(&r.summary));
    let mut context = Vec::new();
    if let Some(url) = &r.run_url {
        context.push(format!("workflow run {}", one_line(url)));
    }
    if let Some(sha) = &r.sha {
        context.push(format!("commit `{}`", one_line(short_sha(sha))));
    }
    if let Some(actor) = &r.actor {
        context.push(format!("by {}", one_line(actor)));
    }
    if !context.is_empty() {
        let _ = writeln!(md, "- **Context:** {}", context.join(" · "));
    }
    for s in &r.services {
        service(&mut md, s);
    }
    let _ = writeln!(md, "\n{end}");
    secret::redact(&md).into_owned()
}

fn service(md: &mut String, s: &ServiceRecord) {
    let _ = writeln!(
        md,
        "\n### {} ({}/{})\n",
        one_line(&s.app),
        one_line(&s.env),
        one_line(&s.service)
    );
    let _ = writeln!(md, "- **Health status:** {}", health_status(s));
    let mut release = release_change(s.from.as_ref(), s.to.as_ref());
    if let Some(images) = image_change(s.from.as_ref(), s.to.as_ref()) {
        let _ = write!(release, " (`{}`)", one_line(&images));
    }
    if let Some(live) = &s.live {
        let _ = write!(release, "; live now: {}", live.short());
    }
    let _ = writeln!(md, "- **Release:** {}", one_line(&release));
    if !s.gates.is_empty() {
        let gates: Vec<String> = s
            .gates
            .iter()
            .map(|g| {
                format!(
                    "{} {} {} ({}: {})",
                    g.name,
                    g.verdict.mark(),
                    g.verdict.name(),
                    g.rule,
                    g.observed
                )
            })
            .collect();
        let _ = writeln!(md, "- **Gates:** {}", one_line(&gates.join(" · ")));
    }
    match (&s.decision, &s.reason) {
        (Some(d), Some(r)) => {
            let _ = writeln!(md, "- **Decision:** {} — {}", one_line(d), one_line(r));
        }
        (Some(x), None) | (None, Some(x)) => {
            let _ = writeln!(md, "- **Decision:** {}", one_line(x));
        }
        (None, None) => {}
    }
    let mut issues = s.issues.clone();
    if issues.is_empty() {
        issues = crate::report::gate_problems(s);
    }
    list(md, "Issues detected", &issues);
    list(md, "Actions taken", &s.actions);
    if !s.warnings.is_empty() {
        list(md, "Warnings", &s.warnings);
    }
}

fn list(md: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(md, "- **{title}:** none");
        return;
    }
    let _ = writeln!(md, "- **{title}:**");
    for item in items {
        let _ = writeln!(md, "  - {}", one_line(item));
    }
}

/// The service's health in words, for the log.
pub fn health_status(s: &ServiceRecord) -> &'static str {
    match s.result {
        ServiceResult::Succeeded => "healthy",
        ServiceResult::RolledBack => {
            "new release unhealthy; previous release live and healthy again"
        }
        ServiceResult::RollbackFailed => "unhealthy, and the way back failed: a human must act",
        ServiceResult::Unhealthy => "unhealthy",
        ServiceResult::FailedBeforeChange => "unchanged (stopped before any change)",
        ServiceResult::NotStarted => "unchanged (not started: an earlier service failed)",
        ServiceResult::Cancelled => "unknown (cancelled)",
        ServiceResult::Planned => s.result.words(),
    }
}

/// One line of Markdown that cannot end the entry early: newlines folded, HTML comments broken.
/// Any text in an entry as one line of inert Markdown, the way the job summary escapes it:
/// much of it is foreign (flyctl's errors, image refs, an app's answers), so HTML (`<script>`,
/// a fake entry marker) is neutralised, table pipes are escaped, terminal escapes and control
/// characters are removed.
fn one_line(text: &str) -> String {
    let text = crate::printer::strip_controls(text);
    crate::github::md_text(&text)
        .replace("\r\n", " ")
        .replace(['\n', '\r'], " ")
        .replace('|', "\\|")
}

/// The lock file that serialises appends to `log`.
pub fn lock_path(log: &Path) -> PathBuf {
    let name = log.file_name().map_or_else(
        || "deployment.md".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    log.with_file_name(format!(".{name}.lock"))
}

/// Appends `entry` to the log at `path` (created with its folders and [`HEADER`] when new).
pub fn append(path: &Path, entry: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let lock_file = lock_path(path);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_file)
        .with_context(|| format!("cannot open the lock file {}", lock_file.display()))?;
    wait_for_lock(&lock).with_context(|| format!("cannot lock {}", lock_file.display()))?;
    let result = append_locked(path, entry);
    let _ = lock.unlock();
    result.with_context(|| format!("cannot append to {}", path.display()))
}

fn wait_for_lock(lock: &File) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                anyhow::bail!("another run held it for more than {}s", LOCK_WAIT.as_secs())
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
}

fn append_locked(path: &Path, entry: &str) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let len = f.metadata()?.len();
    let mut text = String::with_capacity(HEADER.len() + entry.len() + 1);
    if len == 0 {
        text.push_str(HEADER);
    } else {
        // A log edited by hand may not end with a newline; the entry must still start on a
        // line of its own.
        let mut last = [0u8; 1];
        if f.read_at(&mut last, len - 1)? == 1 && last[0] != b'\n' {
            text.push('\n');
        }
    }
    text.push_str(&secret::redact(entry));
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// One entry read back from a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub id: String,
    /// The text between the markers.
    pub body: String,
    /// Whether the end marker was found (false: the entry was cut short).
    pub complete: bool,
}

/// Splits a log back into its entries.
pub fn entries(text: &str) -> Vec<LogEntry> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find("<!-- shipit:run ") {
        let after = &rest[pos + "<!-- shipit:run ".len()..];
        let Some(close) = after.find(" -->") else {
            break;
        };
        let id = after[..close].to_owned();
        let body_start = &after[close + " -->".len()..];
        let (_, end) = markers(&id);
        let next_start = body_start
            .find("<!-- shipit:run ")
            .unwrap_or(body_start.len());
        if let Some(e) = body_start[..next_start].find(&end) {
            out.push(LogEntry {
                id,
                body: body_start[..e].to_owned(),
                complete: true,
            });
            rest = &body_start[e + end.len()..];
        } else {
            out.push(LogEntry {
                id,
                body: body_start[..next_start].to_owned(),
                complete: false,
            });
            rest = &body_start[next_start..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_close_an_entry_or_break_its_lines() {
        assert_eq!(one_line("a\nb --> <!-- c"), "a b --&gt; &lt;!-- c");
        assert_eq!(
            one_line("<script>x</script> | \u{1b}[31mred"),
            "&lt;script&gt;x&lt;/script&gt; \\| red"
        );
    }

    #[test]
    fn entries_are_split_back_and_cut_ones_are_noticed() {
        let text = format!(
            "{HEADER}\n<!-- shipit:run a -->\nx\n<!-- /shipit:run a -->\n\n<!-- shipit:run b -->\ny"
        );
        let e = entries(&text);
        assert_eq!(e.len(), 2);
        assert!(e[0].complete && e[0].body == "\nx\n");
        assert!(!e[1].complete && e[1].id == "b");
    }

    #[test]
    fn the_lock_file_sits_next_to_the_log() {
        assert_eq!(
            lock_path(Path::new("feedback/deployment.md")),
            Path::new("feedback/.deployment.md.lock")
        );
    }
}
