//! Whole-output snapshots of what a user reads: exit code, stdout and stderr of one run, with
//! what changes from run to run (times, ports, temp paths, run ids, measured durations) filtered,
//! compared with `tests/it/snapshots/human/NAME.txt`. `UPDATE_SNAPSHOTS=1` rewrites the file;
//! review the diff, since a change of wording is the point of these tests.

use std::path::PathBuf;

use regex_lite::Regex;

use super::{Project, Run};

/// What a run's durations are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Durations {
    /// Some were measured (probe latencies, elapsed times): every duration is filtered.
    Measured,
    /// None was measured (`plan`, `--help`, config errors): each one is a configured value,
    /// part of the wording, and kept.
    Configured,
}

/// The run as one text, filtered.
pub fn render(p: &Project, run: &Run, durations: Durations) -> String {
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    );
    filter(p, &text, durations)
}

/// Replaces what differs between two runs of the same case, and only that.
pub fn filter(p: &Project, text: &str, durations: Durations) -> String {
    let dir = p.path().to_string_lossy().into_owned();
    let mut out = text.replace(&dir, "[DIR]");
    // Canonical forms of the temp dir (macOS /private, symlinked /tmp) too.
    if let Ok(canon) = p.path().canonicalize() {
        out = out.replace(&*canon.to_string_lossy(), "[DIR]");
    }
    let rules: [(&str, &str); 6] = [
        // Timestamps of CI log lines and RFC 3339 times in messages.
        (r"\[\d\d:\d\d:\d\d\]", "[TIME]"),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "[TIMESTAMP]",
        ),
        // Run ids: `20261202T041233Z-61cf200`.
        (r"\d{8}T\d{6}Z-[0-9a-f]+", "[RUN]"),
        // Ports of the servers on 127.0.0.1.
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        // ULIDs and Fly-style ids the double makes up per run.
        (r"\b01[0-9A-HJKMNP-TV-Z]{24}\b", "[ULID]"),
        // pids in lock messages.
        (r"pid \d+", "pid [PID]"),
    ];
    // Measured durations and latencies: `12ms`, `1.2s`, `2m 3s`.
    let measured = [
        (r"\b\d+(\.\d+)?(ms|s)\b", "[DUR]"),
        (r"\b\d+m \[DUR\]", "[DUR]"),
    ];
    let measured = match durations {
        Durations::Measured => &measured[..],
        Durations::Configured => &[],
    };
    for &(pattern, with) in rules.iter().chain(measured) {
        out = Regex::new(pattern)
            .expect("a valid filter")
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots/human")
        .join(format!("{name}.txt"))
}

/// Compares the filtered run with its snapshot; `UPDATE_SNAPSHOTS=1` writes it instead.
pub fn assert_snapshot(name: &str, p: &Project, run: &Run) {
    assert_snapshot_with(name, p, run, Durations::Measured);
}

/// `assert_snapshot` for a run that measures nothing: its durations are configured values
/// (`every 50ms`, `at 3s`) and stay in the snapshot, so a changed default shows in review.
pub fn assert_settled_snapshot(name: &str, p: &Project, run: &Run) {
    assert_snapshot_with(name, p, run, Durations::Configured);
}

fn assert_snapshot_with(name: &str, p: &Project, run: &Run, durations: Durations) {
    let actual = render(p, run, durations);
    let file = path(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&file, &actual).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}: run with UPDATE_SNAPSHOTS=1 and review it\n{actual}",
            file.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (e, a))| e != a)
            .take(10)
            .map(|(i, (e, a))| format!("line {}:\n  - {e}\n  + {a}", i + 1))
            .collect();
        panic!(
            "the output of `{name}` differs from {} (UPDATE_SNAPSHOTS=1 to accept, after review):\n{}\n({} lines expected, {} seen)\n--- whole output\n{actual}",
            file.display(),
            diff.join("\n"),
            expected.lines().count(),
            actual.lines().count()
        );
    }
}
