//! The operator's runbook, written from shipit.yml and what the record knows: per environment
//! and app how to deploy, promote and roll back (the exact commands), what each alert level
//! means and the first steps, who is notified where, and the facts measured in past runs.
//!
//! Pure: `render` takes the config, the notify channels' variable names, the record's facts
//! and which commands this shipit has, and returns Markdown. The same inputs give the same
//! bytes, so `shipit runbook --check` can compare the committed file with a fresh one.
//!
//! The record's part sits between [`RECORD_START`] and [`RECORD_END`]. A machine that has no
//! record (a fresh runner with `store: local`) keeps that part of the existing file as it is,
//! so it never erases what a machine with the record wrote.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::{Config, Service};
use crate::probe::spot::{ALERT_LATENCY, WARN_LATENCY};

pub const RECORD_START: &str = "<!-- shipit:record -->";
pub const RECORD_END: &str = "<!-- /shipit:record -->";

/// Where a runbook goes unless `--out` says otherwise, relative to shipit.yml's folder.
pub const DEFAULT_PATH: &str = "docs/runbook.md";

/// A notify channel as the runbook names it: its kind, the `${VAR}`s its address comes from (or
/// its host when written literally), and the events it hears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelLine {
    pub kind: String,
    pub target: String,
    pub events: Vec<String>,
}

/// A rollback the record holds: a failed deploy shipit rolled back, or a manual rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackFact {
    pub env: String,
    pub app: String,
    pub at: String,
    /// `automatic` or `manual`.
    pub how: String,
    pub summary: String,
    pub duration_ms: u64,
    pub run_id: String,
}

/// What the record knows that belongs in a runbook: things that change when an incident or a
/// drill happens, never on every deploy (a runbook that changed with every deploy would always
/// be stale).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// The newest per app.
    pub rollbacks: Vec<RollbackFact>,
}

impl Facts {
    pub fn is_empty(&self) -> bool {
        self.rollbacks.is_empty()
    }
}

/// Which optional commands this shipit has; the runbook only tells people to run what exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commands {
    pub promote: bool,
    pub drill: bool,
    pub db: bool,
    pub check: bool,
}

/// The runbook for `config`.
pub fn render(
    config: &Config,
    channels: &[ChannelLine],
    facts: &Facts,
    commands: Commands,
) -> String {
    let mut md = String::new();
    let w = &mut md;
    line(w, "# Runbook");
    line(w, "");
    line(
        w,
        "Written by `shipit runbook` from shipit.yml and shipit's record. Do not edit it by hand: change \
         shipit.yml and run `shipit runbook` again. The scheduled health check fails while this file is stale.",
    );
    line(w, "");
    at_a_glance(w, config);
    deploying(w, config, commands);
    rolling_back(w, config);
    alerts(w, config, commands);
    database(w, commands);
    notified(w, channels);
    record(w, facts, commands);
    md
}

fn line(w: &mut String, text: &str) {
    w.push_str(text);
    w.push('\n');
}

/// A `sh` code block of commands with their comments lined up.
fn shell_block(w: &mut String, commands: &[(String, String)]) {
    let width = commands.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    line(w, "```sh");
    for (command, comment) in commands {
        let _ = writeln!(w, "{command:<width$}  # {comment}");
    }
    line(w, "```");
}

fn at_a_glance(w: &mut String, config: &Config) {
    line(w, "## What runs where");
    line(w, "");
    line(
        w,
        "| environment | service | Fly app | URL | health check | strategy | rollback |",
    );
    line(w, "|---|---|---|---|---|---|---|");
    for s in config.services() {
        let _ = writeln!(
            w,
            "| {} | {} | `{}` | {} | `{}` | {} | {} |",
            s.env,
            s.name,
            s.app,
            s.url.shown(),
            s.health.path,
            s.strategy
                .map_or_else(|| "rolling".to_owned(), |st| st.to_string()),
            if s.rollback {
                "automatic"
            } else {
                "off: a failed deploy stays live"
            }
        );
    }
    line(w, "");
    line(
        w,
        "Services of an environment deploy in this order; when one fails, the ones this run already deployed \
         are rolled back too, in reverse order.",
    );
    line(w, "");
}

fn gate_line(s: &Service) -> String {
    let h = &s.health;
    let expect: Vec<String> = h.expect.iter().map(|c| format!("`{}`", c.text)).collect();
    let mut text = format!(
        "health gate on `{}` every {}: open after {} passing probes in a row, failed after {} failing ones or at {} ({})",
        h.path,
        crate::duration::format(h.interval),
        h.healthy_after,
        h.unhealthy_after,
        crate::duration::format(h.deadline),
        expect.join(", ")
    );
    if let Some(ratio) = s.regression.p95_ratio {
        let _ = write!(
            text,
            "; regression gate: p95 latency at most {ratio} × the baseline's + {}",
            crate::duration::format(s.regression.p95_slack)
        );
    }
    if let Some(smoke) = &s.smoke {
        let name = smoke
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let _ = write!(text, "; smoke suite `{name}`");
    }
    if !s.watch.is_zero() {
        let _ = write!(
            text,
            "; watched for {} after success",
            crate::duration::format(s.watch)
        );
    }
    text
}

fn deploying(w: &mut String, config: &Config, commands: Commands) {
    line(w, "## Deploying");
    line(w, "");
    for env in &config.environments {
        let _ = writeln!(w, "### {}", env.name);
        line(w, "");
        let mut block = vec![
            (
                format!("shipit plan {}", env.name),
                "every step, gate and the rollback target; changes nothing".to_owned(),
            ),
            (
                format!("shipit deploy {}", env.name),
                "every service, in order".to_owned(),
            ),
        ];
        for s in &env.services {
            block.push((
                format!("shipit deploy {} --app {}", env.name, s.name),
                format!("{} alone", s.app),
            ));
        }
        shell_block(w, &block);
        line(w, "");
        for s in &env.services {
            let _ = writeln!(w, "- `{}`: {}.", s.app, gate_line(s));
        }
        line(w, "");
    }
    line(
        w,
        "Exit codes: 0 the new release passed every gate; 1 nothing was changed (bad config, preflight); \
         3 it failed and was rolled back, the previous release is live and healthy; 4 it failed and is NOT \
         recovered: act now (see below); 130 cancelled, the last lines say what is live.",
    );
    line(w, "");
    if commands.promote && config.environments.len() > 1 {
        let names: Vec<&str> = config
            .environments
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        line(w, "### Promoting");
        line(w, "");
        for pair in names.windows(2) {
            let _ = writeln!(
                w,
                "`shipit promote {} {}` deploys to {} the exact image {} proved, and refuses unless the record \
                 holds a successful {} run of that image.",
                pair[0], pair[1], pair[1], pair[0], pair[0]
            );
        }
        line(w, "");
    }
}

fn rolling_back(w: &mut String, config: &Config) {
    line(w, "## Rolling back");
    line(w, "");
    line(
        w,
        "A failed gate rolls back by itself (exit 3). To go back by hand, or when shipit exited 4:",
    );
    line(w, "");
    let mut block = Vec::new();
    for s in config.services() {
        block.push((
            format!("shipit rollback {}", s.app),
            "the previous good release".to_owned(),
        ));
        block.push((
            format!("shipit rollback {} --to VERSION", s.app),
            format!(
                "a given release; `flyctl releases --app {}` lists them",
                s.app
            ),
        ));
    }
    shell_block(w, &block);
    line(w, "");
    line(
        w,
        "Without shipit, flyctl has no rollback command: find the previous release's `ImageRef` with \
         `flyctl releases --app APP --json` and run `flyctl deploy --app APP --config FLY_TOML --image IMAGE_REF`. \
         In GitHub, the `rollback` workflow does the same from the Actions tab.",
    );
    line(w, "");
}

fn alerts(w: &mut String, config: &Config, commands: Commands) {
    line(w, "## Alerts and first steps");
    line(w, "");
    let check = if commands.check {
        "shipit check ENV"
    } else {
        "shipit health ENV"
    };
    let _ = writeln!(
        w,
        "The scheduled health-check workflow runs `{check}` (by hand: the same command). Levels:"
    );
    line(w, "");
    line(w, "| level | when | first steps |");
    line(w, "|---|---|---|");
    line(
        w,
        "| critical | any 5xx answer, or no answer at all | `shipit status ENV` (machines, checks, image); `flyctl logs --app APP`; if the last deploy is the cause, `shipit rollback APP`; then tell the channels below |",
    );
    let _ = writeln!(
        w,
        "| alert | a health condition fails, or latency over {} | `shipit health ENV` again to confirm; `flyctl logs --app APP` for crashes and OOM kills; `shipit status ENV -v` |",
        crate::duration::format(ALERT_LATENCY)
    );
    let _ = writeln!(
        w,
        "| warning | latency over {} | watch the next checks; compare with `shipit baseline APP`; no action unless it lasts |",
        crate::duration::format(WARN_LATENCY)
    );
    line(w, "");
    line(w, "Health conditions per app:");
    line(w, "");
    for s in config.services() {
        let expect: Vec<String> = s
            .health
            .expect
            .iter()
            .map(|c| format!("`{}`", c.text))
            .collect();
        let _ = writeln!(
            w,
            "- `{}` ({}): `{}` with {}",
            s.app,
            s.env,
            s.health.path,
            expect.join(", ")
        );
    }
    line(w, "");
}

fn database(w: &mut String, commands: Commands) {
    line(w, "## Database and restore");
    line(w, "");
    if commands.db {
        line(
            w,
            "`shipit db verify ENV` checks the schema gate; `shipit db backup-check ENV` dumps, restores into a \
             scratch database and compares: the restore procedure, measured.",
        );
    } else {
        line(
            w,
            "This shipit has no database commands; no database gate or restore procedure is configured.",
        );
    }
    line(w, "");
}

fn notified(w: &mut String, channels: &[ChannelLine]) {
    line(w, "## Who is notified");
    line(w, "");
    if channels.is_empty() {
        line(
            w,
            "Nobody: shipit.yml has no `notify:` channels. Failures show only in the GitHub job.",
        );
        line(w, "");
        return;
    }
    line(w, "| channel | where | events |");
    line(w, "|---|---|---|");
    for c in channels {
        let _ = writeln!(w, "| {} | {} | {} |", c.kind, c.target, c.events.join(", "));
    }
    line(w, "");
    line(w, "`shipit notify test` sends a test message to each.");
    line(w, "");
}

fn record(w: &mut String, facts: &Facts, commands: Commands) {
    line(w, "## From the record");
    line(w, "");
    line(w, RECORD_START);
    if facts.rollbacks.is_empty() {
        line(w, "No rollback has been recorded.");
    } else {
        line(
            w,
            "| app | environment | last rollback | how | took | run |",
        );
        line(w, "|---|---|---|---|---|---|");
        for r in &facts.rollbacks {
            let _ = writeln!(
                w,
                "| `{}` | {} | {} | {} | {} | `{}` |",
                r.app,
                r.env,
                r.at,
                r.how,
                crate::duration::human(std::time::Duration::from_millis(r.duration_ms)),
                r.run_id
            );
        }
        line(w, "");
        line(w, "`shipit explain RUN` shows one of these runs in full.");
    }
    line(w, RECORD_END);
    line(w, "");
    if commands.drill {
        line(
            w,
            "Rehearse the way back with `shipit drill ENV` (monthly on staging from `.github/workflows/drill.yml`); `shipit history --drills` shows the times to roll back and restore.",
        );
    } else {
        line(
            w,
            "No rollback drill is scheduled: this shipit has no `drill` command.",
        );
    }
}

/// The record's part of a runbook, markers included, when it has one.
pub fn record_section(text: &str) -> Option<&str> {
    let start = text.find(RECORD_START)?;
    let end = text[start..].find(RECORD_END)? + start + RECORD_END.len();
    Some(&text[start..end])
}

/// `fresh` with its record part replaced by `existing`'s: what a machine without the record
/// writes, so it keeps what a machine with the record wrote.
pub fn keep_record_of(fresh: &str, existing: &str) -> String {
    match (record_section(fresh), record_section(existing)) {
        (Some(new), Some(old)) => fresh.replacen(new, old, 1),
        _ => fresh.to_owned(),
    }
}

/// A line diff of `old` → `new` as `-`/`+` lines with a few lines of context (longest common
/// subsequence; runbooks are a few hundred lines).
pub fn diff(old: &str, new: &str) -> String {
    const CONTEXT: usize = 2;
    let before: Vec<&str> = old.lines().collect();
    let after: Vec<&str> = new.lines().collect();
    let (rows, cols) = (before.len(), after.len());
    // common[i][j]: the longest common subsequence of before[i..] and after[j..].
    let mut common = vec![vec![0u32; cols + 1]; rows + 1];
    for i in (0..rows).rev() {
        for j in (0..cols).rev() {
            common[i][j] = if before[i] == after[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < rows || j < cols {
        if i < rows && j < cols && before[i] == after[j] {
            ops.push((' ', before[i]));
            i += 1;
            j += 1;
        } else if i < rows && (j == cols || common[i + 1][j] >= common[i][j + 1]) {
            // Removed lines first, then what replaces them, as `diff -u` shows them.
            ops.push(('-', before[i]));
            i += 1;
        } else {
            ops.push(('+', after[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(k, _)| k)
        .collect();
    let mut out = String::new();
    let mut last_shown: Option<usize> = None;
    for (k, (op, text)) in ops.iter().enumerate() {
        let near = changed.iter().any(|c| c.abs_diff(k) <= CONTEXT);
        if !near {
            continue;
        }
        if last_shown.is_some_and(|l| k > l + 1) || (last_shown.is_none() && k > 0) {
            out.push_str("...\n");
        }
        let _ = writeln!(out, "{op} {text}");
        last_shown = Some(k);
    }
    out
}

/// The notify channels of shipit.yml's text, named by the `${VAR}`s their address comes from
/// (never a value) or, when written literally, by their host. Reads the text again because the
/// loaded config holds only expanded values.
pub fn channel_lines(config: &Config, config_text: &str) -> Vec<ChannelLine> {
    let raw: serde_json::Value = serde_saphyr::from_str(config_text).unwrap_or_default();
    let raw_list = raw
        .get("notify")
        .and_then(|n| n.as_array())
        .cloned()
        .unwrap_or_default();
    config
        .notify
        .iter()
        .enumerate()
        .map(|(i, ch)| {
            let mut vars = Vec::new();
            if let Some(entry) = raw_list
                .get(i)
                .and_then(|e| e.as_object())
                .and_then(|o| o.values().next())
            {
                for key in ["webhook_url", "url", "routing_key"] {
                    if let Some(text) = entry.get(key).and_then(|v| v.as_str()) {
                        vars.extend(variables(text));
                    }
                }
            }
            let target = if vars.is_empty() {
                crate::notify::target_label(ch)
                    .split_once(" (")
                    .map_or_else(String::new, |(_, h)| h.trim_end_matches(')').to_owned())
            } else {
                let names: Vec<String> = vars.iter().map(|v| format!("`${{{v}}}`")).collect();
                format!("address from {}", names.join(", "))
            };
            let events = if ch.on.len() == crate::event::Event::ALL.len() {
                vec!["every event".to_owned()]
            } else {
                ch.on.iter().map(|e| e.name().to_owned()).collect()
            };
            ChannelLine {
                kind: ch.name().to_owned(),
                target,
                events,
            }
        })
        .collect()
}

/// The names in `${NAME}` of a config string.
fn variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let tail = &rest[start + 2..];
        let Some(end) = tail.find('}') else { break };
        out.push(tail[..end].to_owned());
        rest = &tail[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_shows_changed_lines_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\n";
        let new = "a\nb\nc\nD\ne\nf\ng\n";
        assert_eq!(diff(old, new), "...\n  b\n  c\n- d\n+ D\n  e\n  f\n");
        assert_eq!(diff(old, old), "");
    }

    #[test]
    fn the_record_part_of_an_existing_file_is_kept_by_a_machine_without_the_record() {
        let fresh = format!("head\n{RECORD_START}\nnothing\n{RECORD_END}\ntail\n");
        let existing = format!("old head\n{RECORD_START}\nrolled back v41\n{RECORD_END}\n");
        assert_eq!(
            keep_record_of(&fresh, &existing),
            format!("head\n{RECORD_START}\nrolled back v41\n{RECORD_END}\ntail\n")
        );
        assert_eq!(keep_record_of(&fresh, "no markers"), fresh);
    }

    #[test]
    fn variables_are_named_never_expanded() {
        assert_eq!(variables("https://x/${A}/${B_2}"), ["A", "B_2"]);
        assert!(variables("https://hooks.example.com/x").is_empty());
    }
}
