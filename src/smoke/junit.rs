//! `JUnit` XML for smoke runs, the format CI test reporters read: one `<testsuite>` per suite run,
//! one `<testcase>` per check with its time, `<failure>` listing the failed conditions, and
//! `<skipped>` for checks a cancelled run never finished. Every value is redacted of secrets,
//! then XML-escaped.

use std::fmt::Write as _;

use super::SmokeReport;
use crate::secret;

/// The `JUnit` document of one suite run.
pub fn junit(report: &SmokeReport) -> String {
    junit_all(std::slice::from_ref(report))
}

/// One `JUnit` document holding every suite run (one `<testsuite>` each).
pub fn junit_all(reports: &[SmokeReport]) -> String {
    let tests: usize = reports.iter().map(|r| r.checks.len()).sum();
    let failures: usize = reports.iter().map(|r| r.failed().count()).sum();
    let skipped: usize = reports
        .iter()
        .map(|r| r.checks.iter().filter(|c| c.cancelled).count())
        .sum();
    let time: f64 = reports.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"shipit smoke\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    for r in reports {
        let suite = attr(&r.name);
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{:.3}\">",
            r.checks.len(),
            r.failed().count(),
            r.checks.iter().filter(|c| c.cancelled).count(),
            r.elapsed.as_secs_f64()
        );
        let _ = writeln!(xml, "    <properties>");
        let _ = writeln!(
            xml,
            "      <property name=\"suite\" value=\"{}\"/>",
            attr(&r.suite)
        );
        let _ = writeln!(
            xml,
            "      <property name=\"base_url\" value=\"{}\"/>",
            attr(&r.base_url)
        );
        let _ = writeln!(xml, "    </properties>");
        for c in &r.checks {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{suite}\" time=\"{:.3}\"",
                attr(&c.name),
                c.latency.as_secs_f64()
            );
            if c.cancelled {
                let _ = writeln!(
                    xml,
                    "{open}>\n      <skipped message=\"cancelled before it finished\"/>\n    </testcase>"
                );
            } else if c.passed {
                let _ = writeln!(xml, "{open}/>");
            } else {
                let reasons = c.reasons();
                let message = if reasons.is_empty() {
                    c.summary()
                } else {
                    reasons.join(", ")
                };
                let mut body = format!("{} {} -> {}", c.method, c.target, c.summary());
                for reason in &reasons {
                    body.push('\n');
                    body.push_str(reason);
                }
                let _ = writeln!(
                    xml,
                    "{open}>\n      <failure message=\"{}\" type=\"smoke\">{}</failure>\n    </testcase>",
                    attr(&message),
                    text(&body)
                );
            }
        }
        let _ = writeln!(xml, "  </testsuite>");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Text content: secrets masked, markup escaped, characters XML 1.0 forbids replaced.
fn text(s: &str) -> String {
    escape(s, false)
}

/// An attribute value: like [`text`], and line breaks and quotes kept as references.
fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let s = secret::redact(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' if attribute => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::smoke::CheckResult;

    fn check(name: &str, passed: bool, failed: &[&str]) -> CheckResult {
        CheckResult {
            name: name.into(),
            method: "GET".into(),
            target: "/api?a=1&b=2".into(),
            status: Some(if passed { 200 } else { 500 }),
            latency: Duration::from_millis(12),
            passed,
            cancelled: false,
            failed: failed.iter().map(|s| (*s).to_owned()).collect(),
            error: None,
        }
    }

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(attr("a<b>&\"c'\n"), "a&lt;b&gt;&amp;&quot;c&apos;&#10;");
        assert_eq!(text("a<b>\n\"c\""), "a&lt;b&gt;\n\"c\"");
        assert_eq!(text("bell\u{7}"), "bell\u{FFFD}");
    }

    #[test]
    fn writes_one_testcase_per_check_with_failures_spelled_out() {
        let mut cancelled = check("later", false, &[]);
        cancelled.cancelled = true;
        let report = SmokeReport {
            name: "staging/web <hotdash>".into(),
            suite: "smoke/web.yml".into(),
            base_url: "http://127.0.0.1:1".into(),
            concurrency: 8,
            checks: vec![
                check("home", true, &[]),
                check("api \"v2\"", false, &["[BODY] (<html>) contains \"ok\""]),
                cancelled,
            ],
            elapsed: Duration::from_millis(40),
            cancelled: true,
        };
        let xml = junit(&report);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"shipit smoke\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"0.040\">"), "{xml}");
        assert!(
            xml.contains(
                "<testsuite name=\"staging/web &lt;hotdash&gt;\" tests=\"3\" failures=\"1\""
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase name=\"home\" classname=\"staging/web &lt;hotdash&gt;\" time=\"0.012\"/>"
            ),
            "{xml}"
        );
        assert!(xml.contains("<failure message=\"[BODY] (&lt;html&gt;) contains &quot;ok&quot;\" type=\"smoke\">GET /api?a=1&amp;b=2 -&gt; 500 in 12ms\n[BODY] (&lt;html&gt;) contains \"ok\"</failure>"), "{xml}");
        assert!(xml.contains("name=\"api &quot;v2&quot;\""), "{xml}");
        assert!(
            xml.contains("<skipped message=\"cancelled before it finished\"/>"),
            "{xml}"
        );
        assert!(xml.trim_end().ends_with("</testsuites>"));
    }

    #[test]
    fn secrets_never_reach_the_report() {
        crate::secret::register("s3cr3t-token-value");
        let mut c = check("auth", false, &["[BODY] (s3cr3t-token-value) == x"]);
        c.target = "https://api.example/?key=s3cr3t-token-value".into();
        let report = SmokeReport {
            name: "x".into(),
            suite: "x.yml".into(),
            base_url: "https://s3cr3t-token-value@example".into(),
            concurrency: 1,
            checks: vec![c],
            elapsed: Duration::ZERO,
            cancelled: false,
        };
        let xml = junit(&report);
        assert!(!xml.contains("s3cr3t"), "{xml}");
        assert!(xml.contains("***"));
    }
}
