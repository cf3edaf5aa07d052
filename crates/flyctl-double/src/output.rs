//! Writing to stdout and stderr the way a Go CLI does: unbuffered lines, and no crash when the
//! reader has gone away (a caller that kills the pipe must not turn into a panic message).

use std::io::Write as _;

/// Writes `text` to stdout as-is and flushes, so callers can watch output line by line.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Writes raw bytes to stdout (build output is not always UTF-8).
pub fn out_bytes(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes);
    let _ = stdout.flush();
}

/// Writes one line to stdout.
pub fn out_line(line: &str) {
    out(&format!("{line}\n"));
}

/// Writes one line to stderr.
pub fn err_line(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(format!("{line}\n").as_bytes());
    let _ = stderr.flush();
}

/// Prints a JSON document, or its first half when the state scripts broken output for it.
pub fn json(document: &str, malformed: bool) {
    if malformed {
        out(truncate_half(document));
    } else {
        out(document);
    }
}

/// The first half of a document, cut on a character boundary: never valid JSON, because every
/// document the double prints is a container, a string or `null`.
pub fn truncate_half(document: &str) -> &str {
    let mut cut = document.len() / 2;
    while !document.is_char_boundary(cut) {
        cut -= 1;
    }
    &document[..cut]
}
