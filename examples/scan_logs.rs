//! The log scanner on a file, for `scripts/bench-monitor`: `scan_logs FILE` prints the number of
//! lines any built-in pattern (`fly` and `chatwoot`) matches, as `grep -E -c` would count them,
//! and the scan's wall time; `scan_logs --patterns` prints the expressions, one a line, for
//! `grep -E -f`.

use std::io::Write as _;
use std::time::Instant;

use shipit::logscan::{Scanner, chatwoot, fly};

fn main() -> std::io::Result<()> {
    let patterns: Vec<_> = fly().into_iter().chain(chatwoot()).collect();
    let mut out = std::io::stdout().lock();
    let arg = std::env::args().nth(1).unwrap_or_default();
    if arg == "--patterns" {
        for p in &patterns {
            writeln!(out, "{}", p.source)?;
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(&arg)?;
    let scanner = Scanner::new(patterns);
    let started = Instant::now();
    let scan = scanner.scan(&text);
    let elapsed = started.elapsed();
    writeln!(out, "{} {:.3}", scan.lines_matched, elapsed.as_secs_f64())
}
