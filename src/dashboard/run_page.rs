//! The run pages of the dashboard: `run/<day>.html` holds the runs whose id begins with that
//! UTC day (`YYYYMMDD`, as `timefmt::run_id` writes it), each its own section `#<id>`: every
//! gate (rule, observed, verdict), the flyctl argv, the steps, the decision and its reason.
//!
//! Grouped by day rather than one file per run: the CSS is inline in every page, 10,000 files
//! of it were 80 MB, and creating the files was most of the build time. A run's link never
//! moves, since the day is part of its id.

use std::fmt::Write as _;

use super::html::{badge, esc, page, release};
use crate::report::{RunRecord, ServiceRecord};

/// A run id made safe as a file name and an HTML id (the receipts' rule).
fn run_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The page that holds a run: `run/YYYYMMDD.html`, from the day its id begins with
/// (`timefmt::run_id`); `run/other.html` for an id of another shape.
pub(crate) fn run_page_file(id: &str) -> String {
    let b = id.as_bytes();
    if b.len() >= 9 && b[..8].iter().all(u8::is_ascii_digit) && b[8] == b'T' {
        format!("run/{}.html", &id[..8])
    } else {
        "run/other.html".to_owned()
    }
}

/// A link to one run, relative to the site's folder: its page and its section.
pub(crate) fn run_file(id: &str) -> String {
    format!("{}#{}", run_page_file(id), run_stem(id))
}

/// The runs of one day: a list of links, then one section per run.
pub(super) fn run_page(file: &str, runs: &[&RunRecord]) -> String {
    let day = file
        .strip_prefix("run/")
        .and_then(|f| f.strip_suffix(".html"))
        .unwrap_or(file);
    let title = if day.len() == 8 && day.bytes().all(|c| c.is_ascii_digit()) {
        format!("Runs of {}-{}-{} (UTC)", &day[..4], &day[4..6], &day[6..8])
    } else {
        "Other runs".to_owned()
    };
    let mut b = String::new();
    b.push_str(r#"<nav aria-label="runs"><ul class="runs">"#);
    for r in runs {
        let _ = write!(
            b,
            r##"<li><a href="#{}">{}</a> {} {}</li>"##,
            esc(&run_stem(&r.id)),
            esc(&r.id),
            esc(r.kind.name()),
            badge(&super::outcome_name(r))
        );
    }
    b.push_str("</ul></nav>");
    for r in runs {
        run_section(&mut b, r);
    }
    page(&title, 1, &b)
}

/// One run: what it was, then every service it touched.
fn run_section(b: &mut String, r: &RunRecord) {
    let _ = write!(
        b,
        r#"<article class="run" id="{}"><h2>Run <code>{}</code></h2><p>{}</p><div class="scroll"><table class="meta"><tbody><tr><th scope="row">Run</th><td><code>{}</code></td></tr><tr><th scope="row">Kind</th><td>{}</td></tr><tr><th scope="row">Environment</th><td>{}</td></tr><tr><th scope="row">Outcome</th><td>{}</td></tr><tr><th scope="row">Started</th><td>{}</td></tr><tr><th scope="row">Took</th><td>{}</td></tr>"#,
        esc(&run_stem(&r.id)),
        esc(&r.id),
        esc(&r.summary),
        esc(&r.id),
        esc(r.kind.name()),
        esc(r.env.as_deref().unwrap_or("—")),
        badge(&super::outcome_name(r)),
        esc(&r.started_at),
        crate::duration::human(std::time::Duration::from_millis(r.duration_ms))
    );
    if let Some(url) = &r.run_url {
        let _ = write!(
            b,
            r#"<tr><th scope="row">Workflow run</th><td><a href="{0}">{0}</a></td></tr>"#,
            esc(url)
        );
    }
    for (k, v) in [("Commit", &r.sha), ("Actor", &r.actor)] {
        if let Some(v) = v {
            let _ = write!(
                b,
                r#"<tr><th scope="row">{k}</th><td><code>{}</code></td></tr>"#,
                esc(v)
            );
        }
    }
    b.push_str("</tbody></table></div>");
    for s in &r.services {
        service_section(b, s);
    }
    b.push_str("</article>");
}

fn service_section(b: &mut String, s: &ServiceRecord) {
    let _ = write!(
        b,
        r#"<section class="service"><h3>{}/{} <span class="muted">{}</span> {}</h3><p>From {} to {}; live now: {}</p>"#,
        esc(&s.env),
        esc(&s.service),
        esc(&s.app),
        badge(s.result.name()),
        release(s.from.as_ref()),
        release(s.to.as_ref()),
        release(s.live.as_ref())
    );
    if let Some(d) = &s.decision {
        let _ = write!(b, "<p><strong>Decision:</strong> {}</p>", esc(d));
    }
    if let Some(r) = &s.reason {
        let _ = write!(b, "<p><strong>Reason:</strong> {}</p>", esc(r));
    }
    if !s.gates.is_empty() {
        b.push_str(r#"<div class="scroll"><table class="gates"><caption>Gates</caption><thead><tr><th scope="col">Gate</th><th scope="col">Rule</th><th scope="col">Observed</th><th scope="col">Verdict</th></tr></thead><tbody>"#);
        for g in &s.gates {
            let details = if g.details.is_empty() {
                String::new()
            } else {
                let lines: Vec<String> = g.details.iter().map(|l| esc(l)).collect();
                format!(
                    "<details><summary>{} lines</summary><code>{}</code></details>",
                    g.details.len(),
                    lines.join("<br>")
                )
            };
            let _ = write!(
                b,
                r#"<tr><th scope="row">{}</th><td>{}</td><td>{}{details}</td><td>{}</td></tr>"#,
                esc(&g.name),
                esc(&g.rule),
                esc(&g.observed),
                badge(g.verdict.name())
            );
        }
        b.push_str("</tbody></table></div>");
    }
    if !s.flyctl.is_empty() {
        b.push_str("<h4>flyctl</h4><ul>");
        for argv in &s.flyctl {
            let _ = write!(b, "<li><code>{}</code></li>", esc(&argv.join(" ")));
        }
        b.push_str("</ul>");
    }
    if !s.steps.is_empty() {
        b.push_str(r#"<div class="scroll"><table class="steps"><caption>Steps</caption><thead><tr><th scope="col">Step</th><th scope="col">Started</th><th scope="col">Took</th><th scope="col">Ended</th></tr></thead><tbody>"#);
        for st in &s.steps {
            let _ = write!(
                b,
                r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{} {}</td></tr>"#,
                esc(&st.name),
                esc(&st.started_at),
                crate::duration::human(std::time::Duration::from_millis(st.duration_ms)),
                badge(if st.ok { "ok" } else { "failed" }),
                esc(&st.detail)
            );
        }
        b.push_str("</tbody></table></div>");
    }
    for (title, lines) in [
        ("Issues", &s.issues),
        ("Actions", &s.actions),
        ("Warnings", &s.warnings),
    ] {
        if lines.is_empty() {
            continue;
        }
        let _ = write!(b, "<h4>{title}</h4><ul>");
        for l in lines {
            let _ = write!(b, "<li>{}</li>", esc(l));
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>");
}
