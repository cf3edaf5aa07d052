use super::*;

/// Lines each built-in pattern must match, and near-misses it must not.
fn cases() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        (
            "http_5xx",
            vec![
                "Completed 500 Internal Server Error in 12ms (ActiveRecord: 2.1ms)",
                "GET /api/orders 502 13.2 ms - 21",
                r#"10.0.0.1 - - [21/Aug/2026:12:00:31 +0000] "POST /login HTTP/1.1" 503 157 "-" "curl/8.0""#,
                "request finished method=GET path=/ status=500 duration=3ms",
                r#"{"level":"error","status":504,"path":"/checkout"}"#,
            ],
            vec![
                "GET /health 200 - - 5.1 ms",
                "Completed 200 OK in 512ms",
                "processed 503 records in 2s",
                "request finished status=200 took 502ms",
                "GET /items/500 200 3.1 ms - 12",
            ],
        ),
        (
            "proxy_error",
            vec![
                "[PU02] could not complete HTTP request to instance: connection closed before message completed",
                "[PC01] instance refused connection. is your app listening on 0.0.0.0:3000? make sure it is not only listening on 127.0.0.1",
                "[PR01] no known healthy instances found for route app=hotdash-staging",
                "[PM03] machine wake timeout",
            ],
            vec![
                "[PA01] request replayed",
                "[INFO] proxy started",
                "PU02 without brackets is prose",
                "[P1] priority one",
            ],
        ),
        (
            "crash",
            vec![
                "thread 'main' panicked at src/main.rs:12:5:",
                "panic: runtime error: index out of range [3] with length 3",
                "goroutine 1 [running]:",
                "Traceback (most recent call last):",
                "Uncaught TypeError: Cannot read properties of undefined (reading 'id')",
                " INFO Main child exited normally with code: 1",
            ],
            vec![
                " INFO Main child exited normally with code: 0",
                "don't panic: all good",
                "goroutine pool size 8",
                "thread 'main' finished",
                "caught TypeError and retried",
            ],
        ),
        (
            "oom_killed",
            vec![
                "[  258.930660] Out of memory: Killed process 476 (beam.smp) total-vm:2110000kB, anon-rss:230000kB, file-rss:0kB, shmem-rss:0kB, UID:65534 pgtables:800kB oom_score_adj:0",
                " INFO Process appears to have been OOM killed!",
                "Out of memory: Killed process 12 (node)",
            ],
            vec![
                "memory usage 91%, not out of memory",
                " INFO Process appears to have exited cleanly",
                "oom_score_adj:0 set for worker",
                "Killed process 476 after a timeout",
            ],
        ),
        (
            "restart_loop",
            vec![
                "machine has reached its max restart count (10)",
                "runner[148ed193b95089] iad [info] machine has reached its max restart count (10)",
                "machine has reached its max restart count",
            ],
            vec![
                "machine restart 3 of 10",
                "max restart count is 10",
                "machine has reached its desired state",
            ],
        ),
        (
            "smtp_auth",
            vec![
                "Net::SMTPAuthenticationError: 535 5.7.0 authentication failed",
                "535 Authentication failed",
                "ArgumentError: wrong authentication type none",
            ],
            vec![
                "authentication succeeded for smtp",
                "Net::SMTP session started",
                "535 emails delivered",
                "user authentication failed for /login",
            ],
        ),
        (
            "smtp_error",
            vec![
                "Error performing ActionMailer::MailDeliveryJob (Job ID: 7) from Sidekiq(mailers) in 2536.36ms: Net::SMTPFatalError (555 5.5.2 Syntax error)",
                "Net::SMTPSyntaxError: 501 bad address",
                "Net::SMTPServerBusy: 421 try again later",
            ],
            vec![
                "Net::SMTP session started",
                "Net::SMTPAuthenticationError is handled by smtp_auth",
                "SMTPFatalError without the namespace",
            ],
        ),
        (
            "mail_timeout",
            vec![
                "Net::ReadTimeout: Net::ReadTimeout with #<TCPSocket:(closed)>",
                "Net::OpenTimeout: execution expired",
                "Authorization error for email channel - 12 : Net::OpenTimeout",
            ],
            vec![
                "read timeout set to 60s",
                "Net::HTTP open",
                "Timeout::Error in cache",
            ],
        ),
        (
            "imap_error",
            vec![
                "Authorization error for email channel - 12 : Errno::ECONNREFUSED",
                "Error for email channel - 12 : Net::IMAP::NoResponseError",
                "[IMAP] Email processing timeout (60s): <abc@mail.example>",
                "[IMAP] Failed to process email <abc@mail.example>: undefined method",
            ],
            vec![
                "Fetched 3 emails for email channel - 12",
                "[IMAP] Fetched 2 new emails",
                "No error for email channel - 12",
            ],
        ),
        (
            "reauthorization_required",
            vec![
                "Inbox 12 marked reauthorization_required after 2 authorization errors",
                "reauthorization_required=true inbox=12",
                r#"{"inbox":12,"reauthorization_required":true}"#,
                "reauthorization_required",
            ],
            vec![
                "reauthorization_required=false inbox=12",
                r#"{"inbox":12,"reauthorization_required": false}"#,
                "reauthorization_required_at cleared",
                "inbox 12 reauthorized",
            ],
        ),
        (
            "sidekiq_failed",
            vec![
                "Error performing ActionMailer::MailDeliveryJob (Job ID: 3f2) from Sidekiq(mailers) in 2536.36ms: Net::SMTPFatalError",
                r#"WARN: {"context":"Job raised exception","job":{"retry":true,"queue":"mailers"}}"#,
                r#"{"ts":"2026-08-21T12:00:00Z","lvl":"INFO","msg":"fail","ctx":{"class":"ActionMailer::MailDeliveryJob"}}"#,
                "Adding dead ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper job 4a1b",
                "class=ActionMailer::MailDeliveryJob jid=9 elapsed=0.419 INFO: fail",
            ],
            vec![
                "Performed ActionMailer::MailDeliveryJob (Job ID: 1) from Sidekiq(mailers) in 20ms",
                "class=X jid=9 elapsed=0.419 INFO: done",
                r#"{"msg":"done"}"#,
                "Adding 3 jobs to queue",
            ],
        ),
    ]
}

fn builtin(name: &str) -> Pattern {
    fly()
        .into_iter()
        .chain(chatwoot())
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no built-in {name}"))
}

#[test]
fn every_builtin_matches_its_lines_and_not_its_near_misses() {
    let cases = cases();
    let all: Vec<Pattern> = fly().into_iter().chain(chatwoot()).collect();
    assert_eq!(cases.len(), all.len(), "one case per built-in pattern");
    for (name, hits, misses) in cases {
        let p = builtin(name);
        assert!(
            hits.len() >= 3 && misses.len() >= 3,
            "{name}: at least 3 each"
        );
        for line in hits {
            assert!(p.is_match(line), "{name} must match: {line}");
            assert!(
                p.needles.iter().any(|n| Needle::new(n).in_line(line)),
                "{name}: a matching line without a needle would be missed by the scan: {line}"
            );
        }
        for line in misses {
            assert!(!p.is_match(line), "{name} must not match: {line}");
        }
    }
}

#[test]
fn the_scan_agrees_with_a_line_by_line_regex() {
    // Several scan chunks' worth, so matches fall on every side of a chunk's end.
    let mut text = String::new();
    while text.len() < 4 * CHUNK {
        for (_, hits, misses) in cases() {
            for line in hits.iter().chain(&misses) {
                text.push_str(line);
                text.push('\n');
                text.push_str("GET /health 200 - - 2.1 ms\n");
            }
        }
        text.push_str("padding\n");
    }
    text.push_str("Out of memory: Killed process 9 (ruby)"); // no final newline
    let mut patterns: Vec<Pattern> = fly().into_iter().chain(chatwoot()).collect();
    patterns.push(Pattern::new("stripe", r"Stripe::(Card|API)Error", Level::Warning).unwrap());
    patterns.push(Pattern::new("anything_5", r"[0-9]5", Level::Info).unwrap());
    let scanner = Scanner::new(patterns.clone());
    let scan = scanner.scan(&text);
    let mut union = std::collections::BTreeSet::new();
    for (i, p) in patterns.iter().enumerate() {
        let naive: Vec<&str> = text.split('\n').filter(|l| p.is_match(l)).collect();
        let got = scan.hits.iter().find(|h| h.pattern == i);
        assert_eq!(got.map_or(0, |h| h.count), naive.len(), "{}", p.name);
        if let Some(h) = got {
            let examples: Vec<&str> = h.examples.iter().map(|&(s, e)| &text[s..e]).collect();
            assert_eq!(examples, naive[..naive.len().min(EXAMPLES)], "{}", p.name);
        }
        for l in text.split('\n').filter(|l| p.is_match(l)) {
            union.insert(l.as_ptr() as usize);
        }
    }
    assert_eq!(scan.lines_matched, union.len());
    assert!(
        scan.hits
            .iter()
            .any(|h| patterns[h.pattern].name == "oom_killed")
    );
}

#[test]
fn literals_are_read_off_user_patterns_only_when_safe() {
    assert_eq!(
        required_literal(r"Stripe::(Card|API)Error").as_deref(),
        Some("Stripe::")
    );
    assert_eq!(
        required_literal(r"payment failed: \[[0-9]+\]").as_deref(),
        Some("payment failed: [")
    );
    assert_eq!(required_literal(r"timeouts?").as_deref(), Some("timeout"));
    assert_eq!(
        required_literal(r"colou?r mismatch").as_deref(),
        Some("r mismatch")
    );
    assert_eq!(required_literal(r"a{2}bcd").as_deref(), Some("bcd"));
    assert_eq!(
        required_literal(r"foo|barbaz"),
        None,
        "top-level alternation"
    );
    assert_eq!(required_literal(r"(?i)error"), None, "flags");
    assert_eq!(required_literal(r"\d+ms"), None, "too short");
    assert_eq!(required_literal(r"[abc]+x\.y\.z"), Some("x.y.z".into()));
    let p = Pattern::new("x", "Stripe::(Card|API)Error", Level::Alert).unwrap();
    assert_eq!(p.needles(), ["Stripe::".to_owned()]);
    let err = Pattern::new("x", "unclosed(", Level::Alert).unwrap_err();
    assert!(
        err.starts_with("`unclosed(` is not a valid pattern"),
        "{err}"
    );
}

#[test]
fn sets_are_named() {
    for name in SETS {
        assert!(!set(name).unwrap().is_empty());
    }
    assert!(set("nginx").is_none());
}
