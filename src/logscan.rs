//! The log scanner: named patterns (`{name, match, level}`), the built-in sets (`fly`, always
//! on, and `chatwoot`), and a scan over a block of lines that counts and keeps example lines per
//! pattern.
//!
//! Speed comes from literals, not from the regex engine: every pattern carries the literal
//! strings at least one of which any match must contain (its *needles*: written out for the
//! built-ins, derived from the expression for a user's pattern). The scan walks the block in
//! 64 KB chunks, searches each chunk for every needle with `memchr::memmem` (SIMD) while it is
//! in cache, and runs the regex only on the few lines that contain one. A pattern without a usable literal falls back to the regex on every line,
//! which is slower and just as correct.

use memchr::memmem;
use regex_lite::Regex;

use crate::level::Level;

/// How many example lines a pattern keeps; the count covers all of them.
pub const EXAMPLES: usize = 5;

/// One named pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The rule name findings carry (`oom_killed`, `smtp_auth`, a user's own name).
    pub name: String,
    pub level: Level,
    /// The expression as written (regex-lite syntax; the built-ins are also valid `grep -E`).
    pub source: String,
    regex: Regex,
    /// Literals any match contains at least one of (`\d` in a built-in's needle stands for
    /// one ASCII digit); empty: none known, check every line.
    needles: Vec<String>,
}

/// A needle split for the search: the literal before its first `\d`, then the bytes after it
/// (`None`: any digit), checked where the literal was found.
#[derive(Debug, Clone)]
struct Needle {
    finder: memmem::Finder<'static>,
    tail: Vec<Option<u8>>,
}

impl Needle {
    fn new(text: &str) -> Needle {
        let (head, rest) = text
            .split_once("\\d")
            .map_or((text, None), |(h, r)| (h, Some(r)));
        let mut tail = Vec::new();
        if let Some(rest) = rest {
            tail.push(None);
            let mut r = rest;
            while !r.is_empty() {
                if let Some(after) = r.strip_prefix("\\d") {
                    tail.push(None);
                    r = after;
                } else {
                    let c = r.as_bytes()[0];
                    tail.push(Some(c));
                    r = &r[1..];
                }
            }
        }
        Needle {
            finder: memmem::Finder::new(head.as_bytes()).into_owned(),
            tail,
        }
    }

    /// Whether the tail holds at `at` (just past the literal).
    fn tail_at(&self, hay: &[u8], at: usize) -> bool {
        self.tail.iter().enumerate().all(|(k, want)| {
            hay.get(at + k).is_some_and(|b| match want {
                None => b.is_ascii_digit(),
                Some(c) => b == c,
            })
        })
    }

    /// Whether `line` contains this needle.
    #[cfg(test)]
    fn in_line(&self, line: &str) -> bool {
        let hay = line.as_bytes();
        self.finder
            .find_iter(hay)
            .any(|i| self.tail_at(hay, i + self.finder.needle().len()))
    }
}

impl Pattern {
    /// A pattern from config: the needle is derived from the expression when it can be.
    pub fn new(name: &str, expr: &str, level: Level) -> Result<Pattern, String> {
        let regex =
            Regex::new(expr).map_err(|e| format!("`{expr}` is not a valid pattern: {e}"))?;
        Ok(Pattern {
            name: name.to_owned(),
            level,
            source: expr.to_owned(),
            regex,
            needles: required_literal(expr).into_iter().collect(),
        })
    }

    fn builtin(name: &str, level: Level, expr: &str, needles: &[&str]) -> Pattern {
        Pattern {
            name: name.to_owned(),
            level,
            source: expr.to_owned(),
            regex: Regex::new(expr).expect("built-in patterns compile"),
            needles: needles.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    pub fn is_match(&self, line: &str) -> bool {
        self.regex.is_match(line)
    }

    /// The literals the scan searches for (for tests and `config check`).
    pub fn needles(&self) -> &[String] {
        &self.needles
    }
}

/// The names of the built-in sets a `logs: { patterns: [...] }` list may name.
pub const SETS: [&str; 2] = ["fly", "chatwoot"];

/// A built-in set by name.
pub fn set(name: &str) -> Option<Vec<Pattern>> {
    match name {
        "fly" => Some(fly()),
        "chatwoot" => Some(chatwoot()),
        _ => None,
    }
}

/// What every app is scanned for: HTTP 5xx answers, Fly proxy errors, panics and crashes, OOM
/// kills, restart loops. Lines as Fly's log stream carries them (`reference/monitoring-db-dr.md`
/// §4.2-4.4).
pub fn fly() -> Vec<Pattern> {
    vec![
        Pattern::builtin(
            "http_5xx",
            Level::Critical,
            r#"(Completed 5[0-9][0-9] |HTTP/[0-9.]+" 5[0-9][0-9] |(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /[^ ]* 5[0-9][0-9] |status"?[=:] ?"?5[0-9][0-9]\b)"#,
            &[" 5\\d\\d ", "status"],
        ),
        Pattern::builtin(
            "proxy_error",
            Level::Alert,
            r"\[P[UCMRL][0-9][0-9]\]",
            &["[P"],
        ),
        Pattern::builtin(
            "crash",
            Level::Alert,
            r#"thread '[^']*' panicked at|(^|")panic: |goroutine [0-9]+ \[running\]|Traceback \(most recent call last\)|Uncaught [A-Za-z]*(Error|Exception)|UnhandledPromiseRejection|Main child exited normally with code: [1-9]|Segmentation fault"#,
            &[
                "panicked at",
                "panic: ",
                "goroutine ",
                "Traceback (most recent call last)",
                "Uncaught ",
                "UnhandledPromiseRejection",
                "Main child exited normally with code: ",
                "Segmentation fault",
            ],
        ),
        Pattern::builtin(
            "oom_killed",
            Level::Alert,
            r"Out of memory: Killed process [0-9]+|Process appears to have been OOM killed",
            &["Out of memory: Killed process", "OOM killed"],
        ),
        Pattern::builtin(
            "restart_loop",
            Level::Alert,
            r"machine has reached its max restart count",
            &["machine has reached its max restart count"],
        ),
    ]
}

/// Chatwoot's mail and job failures (`reference/monitoring-db-dr.md` §5.2-5.3): SMTP
/// authentication, other SMTP errors, mail timeouts, IMAP fetch failures, an inbox flagged
/// `reauthorization_required` (after which the IMAP job goes silent), Sidekiq job failures.
pub fn chatwoot() -> Vec<Pattern> {
    vec![
        Pattern::builtin(
            "smtp_auth",
            Level::Alert,
            r"Net::SMTPAuthenticationError|535[ -][0-9.]* ?[Aa]uthentication failed|wrong authentication type",
            &[
                "Net::SMTPAuthenticationError",
                "uthentication failed",
                "wrong authentication type",
            ],
        ),
        Pattern::builtin(
            "smtp_error",
            Level::Alert,
            r"Net::SMTP(FatalError|SyntaxError|ServerBusy|UnknownError|UnsupportedCommand)",
            &["Net::SMTP"],
        ),
        Pattern::builtin(
            "mail_timeout",
            Level::Alert,
            r"Net::(Read|Open)Timeout",
            &["Net::ReadTimeout", "Net::OpenTimeout"],
        ),
        Pattern::builtin(
            "imap_error",
            Level::Alert,
            r"(Authorization error|Error) for email channel - [0-9]+|\[IMAP\] (Failed to process email|Email processing timeout|Skipping problematic email)",
            &["for email channel - ", "[IMAP] "],
        ),
        Pattern::builtin(
            "reauthorization_required",
            Level::Alert,
            r#"reauthorization_required([^=:_a-z"]|$|"?[=:] ?"?(true|1))"#,
            &["reauthorization_required"],
        ),
        Pattern::builtin(
            "sidekiq_failed",
            Level::Alert,
            r#"Error performing [A-Za-z:]+ \(Job ID|Job raised exception|Adding dead [A-Za-z:]+ job|"msg":"fail"|elapsed=[0-9.]+ INFO: fail"#,
            &[
                "Error performing ",
                "Job raised exception",
                "Adding dead ",
                r#""msg":"fail""#,
                "INFO: fail",
            ],
        ),
    ]
}

/// What one pattern found in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternHits {
    /// Index into the scanner's patterns.
    pub pattern: usize,
    /// Matching lines.
    pub count: usize,
    /// Byte ranges of the first [`EXAMPLES`] matching lines, in order.
    pub examples: Vec<(usize, usize)>,
}

/// The result of one scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Only patterns that matched, in the scanner's order.
    pub hits: Vec<PatternHits>,
    /// Lines matched by at least one pattern (what `grep -E -c` with every pattern counts).
    pub lines_matched: usize,
}

/// A set of patterns, ready to scan.
#[derive(Debug, Clone)]
pub struct Scanner {
    patterns: Vec<Pattern>,
    finders: Vec<Vec<Needle>>,
}

impl Scanner {
    pub fn new(patterns: Vec<Pattern>) -> Scanner {
        let finders = patterns
            .iter()
            .map(|p| p.needles.iter().map(|n| Needle::new(n)).collect())
            .collect();
        Scanner { patterns, finders }
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Scans a block of `\n`-separated lines.
    pub fn scan(&self, text: &str) -> Scan {
        let mut hits = Vec::new();
        let mut matched_starts = Vec::new();
        let mut candidates = self.candidates(text);
        for (i, pattern) in self.patterns.iter().enumerate() {
            let lines = if self.finders[i].is_empty() {
                every_line(text)
            } else {
                std::mem::take(&mut candidates[i])
            };
            let mut found = PatternHits {
                pattern: i,
                count: 0,
                examples: Vec::new(),
            };
            for (start, end) in lines {
                if pattern.regex.is_match(&text[start..end]) {
                    found.count += 1;
                    if found.examples.len() < EXAMPLES {
                        found.examples.push((start, end));
                    }
                    matched_starts.push(start);
                }
            }
            if found.count > 0 {
                hits.push(found);
            }
        }
        matched_starts.sort_unstable();
        matched_starts.dedup();
        Scan {
            hits,
            lines_matched: matched_starts.len(),
        }
    }

    /// Per pattern, the lines containing at least one of its needles, in order, each once.
    /// The text is walked in cache-sized chunks that end at a line's end, every needle searched
    /// in a chunk while it is in cache: one pass over memory instead of one per needle.
    fn candidates(&self, text: &str) -> Vec<Vec<(usize, usize)>> {
        let hay = text.as_bytes();
        let mut per: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.patterns.len()];
        let mut from = 0;
        while from < hay.len() {
            let to = if hay.len() - from <= CHUNK {
                hay.len()
            } else {
                memchr::memchr(b'\n', &hay[from + CHUNK..])
                    .map_or(hay.len(), |p| from + CHUNK + p + 1)
            };
            for (i, needles) in self.finders.iter().enumerate() {
                for needle in needles {
                    candidate_lines(hay, from, to, needle, &mut per[i]);
                }
            }
            from = to;
        }
        for (i, lines) in per.iter_mut().enumerate() {
            if self.finders[i].len() > 1 {
                lines.sort_unstable();
                lines.dedup();
            }
        }
        per
    }
}

/// The chunk [`Scanner::candidates`] searches at a time: well inside a core's L2 cache.
const CHUNK: usize = 64 * 1024;

fn every_line(text: &str) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
        lines.push((start, end));
        start = end + 1;
    }
    if start < text.len() {
        lines.push((start, text.len()));
    }
    lines
}

/// Adds the lines of `hay[from..to]` (whole lines) that contain `needle` to `lines`, in order,
/// each once.
fn candidate_lines(
    hay: &[u8],
    from: usize,
    to: usize,
    needle: &Needle,
    lines: &mut Vec<(usize, usize)>,
) {
    let len = needle.finder.needle().len();
    let mut pos = from;
    while pos < to {
        let Some(i) = needle.finder.find(&hay[pos..to]) else {
            break;
        };
        let at = pos + i;
        if !needle.tail_at(hay, at + len) {
            pos = at + 1;
            continue;
        }
        let start = memchr::memrchr(b'\n', &hay[from..at]).map_or(from, |p| from + p + 1);
        let end = memchr::memchr(b'\n', &hay[at..to]).map_or(to, |p| at + p);
        lines.push((start, end));
        pos = end + 1;
    }
}

/// The longest literal every match of `expr` must contain, when one of at least three bytes can
/// be read off the expression safely: outside any group or class, no top-level `|`, no flags,
/// and the last character before `?`, `*` or `{` dropped. `None` means "check every line".
pub fn required_literal(expr: &str) -> Option<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut best = String::new();
    let mut run = String::new();
    let mut i = 0;
    let end_run = |run: &mut String, best: &mut String| {
        if run.len() > best.len() {
            *best = std::mem::take(run);
        } else {
            run.clear();
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '|' => return None,
            '(' => {
                if chars.get(i + 1) == Some(&'?') {
                    return None;
                }
                end_run(&mut run, &mut best);
                i = skip_group(&chars, i)?;
                continue;
            }
            '[' => {
                end_run(&mut run, &mut best);
                i = skip_class(&chars, i)?;
                continue;
            }
            '?' | '*' | '{' => {
                run.pop();
                end_run(&mut run, &mut best);
                if c == '{' {
                    while i < chars.len() && chars[i] != '}' {
                        i += 1;
                    }
                }
            }
            '+' | '.' | '^' | '$' | ')' | ']' | '}' => end_run(&mut run, &mut best),
            '\\' => {
                let &next = chars.get(i + 1)?;
                // A literal backslash ends the run too: `\d` in a needle means a digit.
                if next.is_ascii_alphanumeric() || next == '\\' {
                    end_run(&mut run, &mut best);
                } else {
                    run.push(next);
                }
                i += 2;
                continue;
            }
            _ => run.push(c),
        }
        i += 1;
    }
    end_run(&mut run, &mut best);
    (best.len() >= 3).then_some(best)
}

/// The index just past the group opened at `open`.
fn skip_group(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => {
                i = skip_class(chars, i)?;
                continue;
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just past the class opened at `open` (`[]a]` and `[^]a]` hold a literal `]`).
fn skip_class(chars: &[char], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            ']' => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
#[path = "logscan_tests.rs"]
mod tests;
