//! The dashboard as a static site: `index.html` (status at a glance, open alerts, recent
//! deploys, charts), `runs-N.html` (every deploy-like run, paged) and `run/<hour>.html` (the
//! runs that started in one UTC hour, each its own section `#<id>`: every gate, the flyctl argv,
//! the decision). HTML and CSS inline, charts inline SVG, no JavaScript, no request to any
//! host: it works from `file://`, as a CI artifact or on GitHub Pages.
//!
//! Run pages are grouped by the hour in the run id (`YYYYMMDDTHH…`), not one file per run: the
//! CSS is inline in every page, and 10,000 files of it were 80 MB and most of the build time. A
//! run's link never moves, since the hour is part of its id.
//!
//! **Invariant:** every text that reaches a page goes through [`esc`] (after `secret::redact`),
//! so a foreign string (an image ref, a flyctl error, an app's answer) cannot inject markup.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::run_page::{run_file, run_page, run_page_file};
use super::svg::{Series, legend, line_chart};
use super::{Dashboard, TimelineEntry, age};
use crate::report::{ReleaseRef, RunRecord};

/// Deploys listed on the index page; the rest are on the paged run lists.
const INDEX_RUNS: usize = 50;
/// Runs per page of the run lists.
const PAGE_RUNS: usize = 500;

/// Escapes text for HTML element content and attribute values, after redacting it.
pub(crate) fn esc(text: &str) -> String {
    let text = crate::secret::redact(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Every file of the site: (path relative to the site's folder, contents).
pub(crate) fn render(d: &Dashboard, runs: &[&RunRecord]) -> Vec<(String, String)> {
    let mut files = vec![("index.html".to_owned(), index(d))];
    let pages = d.timeline.len().div_ceil(PAGE_RUNS).max(1);
    for (i, chunk) in d.timeline.chunks(PAGE_RUNS).enumerate() {
        files.push((
            format!("runs-{}.html", i + 1),
            run_list(chunk, i + 1, pages),
        ));
    }
    if d.timeline.is_empty() {
        files.push(("runs-1.html".to_owned(), run_list(&[], 1, 1)));
    }
    let mut by_page: std::collections::BTreeMap<String, Vec<&RunRecord>> =
        std::collections::BTreeMap::new();
    for r in runs {
        by_page.entry(run_page_file(&r.id)).or_default().push(r);
    }
    for (file, mut group) in by_page {
        group.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
        let text = run_page(&file, &group);
        files.push((file, text));
    }
    files
}

/// Writes the site into `dir`; each file appears whole (temporary file, then rename).
pub(crate) fn write(dir: &Path, files: &[(String, String)]) -> anyhow::Result<PathBuf> {
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create {}", run_dir.display()))?;
    for (rel, text) in files {
        let path = dir.join(rel);
        let tmp = path.with_extension(format!("html.tmp-{}", std::process::id()));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(dir.join("index.html"))
}

pub(super) fn page(title: &str, depth: usize, body: &str) -> String {
    let home = if depth == 0 {
        "index.html"
    } else {
        "../index.html"
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{CSS}</style>
</head>
<body>
<header><p class="brand"><a href="{home}">shipit</a></p><h1>{title}</h1></header>
<main>
{body}
</main>
</body>
</html>
"#,
        title = esc(title)
    )
}

const CSS: &str = r"
:root{--bg:#ffffff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--p50:#0969da;--p95:#8250df;--err:#cf222e;--link:#0969da}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--card:#151b23;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--p50:#58a6ff;--p95:#bc8cff;--err:#ff7b72;--link:#58a6ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}
header,main{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:12px;border-bottom:1px solid var(--line)}
h1{font-size:1.5rem;margin:.2rem 0 .8rem}h2{font-size:1.2rem;margin:1.6rem 0 .6rem}h3{font-size:1rem;margin:1rem 0 .4rem}h4{font-size:.95rem;margin:.8rem 0 .3rem}
article.run{border-top:2px solid var(--line);margin-top:1.6rem}ul.runs{padding-left:1.2rem}
a{color:var(--link)}.brand{margin:0;font-weight:600}.muted{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;vertical-align:top}
th{font-weight:600;background:var(--card)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;word-break:break-all}
.badge{display:inline-block;padding:0 .45rem;border-radius:1rem;border:1px solid currentColor;font-size:.85em;font-weight:600;white-space:nowrap}
.ok{color:var(--ok)}.warning,.warn,.rolled_back,.marginal{color:var(--warn)}.failing,.fail,.critical,.alert,.needs_human,.failed,.rollback_failed,.unhealthy,.cancelled{color:var(--bad)}
.success,.pass,.succeeded{color:var(--ok)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:10px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}
.card h3{margin:0 0 .2rem}
figure{margin:.4rem 0 1.2rem}figcaption{font-weight:600}
svg.chart{width:100%;height:auto;max-height:260px;display:block}
.grid{stroke:var(--line);stroke-width:1}.axis{stroke:var(--muted);stroke-width:1}
.axis-label{fill:var(--muted);font-size:11px}
.series polyline{fill:none;stroke-width:2}
.series.p50 polyline,.swatch.p50{stroke:var(--p50);background:var(--p50)}.series.p50 .point{fill:var(--p50)}
.series.p95 polyline,.swatch.p95{stroke:var(--p95);background:var(--p95)}.series.p95 .point{fill:var(--p95)}
.series.err polyline,.swatch.err{stroke:var(--err);background:var(--err)}.series.err .point{fill:var(--err)}
.legend{list-style:none;padding:0;margin:.2rem 0;display:flex;gap:1rem;font-size:.9em}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.3em;vertical-align:-.1em}
details{margin:.3rem 0}
@media (max-width:600px){body{font-size:14px}th,td{padding:.3rem}}
";

pub(super) fn release(r: Option<&ReleaseRef>) -> String {
    match r {
        Some(ReleaseRef {
            version: Some(v),
            image,
        }) => format!("v{v} <code>{}</code>", esc(image)),
        Some(ReleaseRef {
            version: None,
            image,
        }) => format!("<code>{}</code>", esc(image)),
        None => r#"<span class="muted">unknown</span>"#.to_owned(),
    }
}

pub(super) fn badge(word: &str) -> String {
    let class: String = word
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!(
        r#"<span class="badge {class}">{}</span>"#,
        esc(&word.replace('_', " "))
    )
}

fn index(d: &Dashboard) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<p class="muted">Made {} from the record ({}){}{}; {} runs read.</p>"#,
        esc(&d.generated_at),
        esc(&d.store),
        d.env
            .as_ref()
            .map(|e| format!(", environment {}", esc(e)))
            .unwrap_or_default(),
        d.since
            .as_ref()
            .map(|s| format!(", the last {}", esc(s)))
            .unwrap_or_default(),
        d.runs
    );
    glance(&mut b, d);
    alerts(&mut b, d);
    deploys(&mut b, d);
    latency(&mut b, d);
    drills(&mut b, d);
    database(&mut b, d);
    promotions(&mut b, d);
    super::cost::render(&mut b, d.cost.as_ref());
    page("Status", 0, &b)
}

fn glance(b: &mut String, d: &Dashboard) {
    b.push_str(r#"<section aria-labelledby="glance"><h2 id="glance">At a glance</h2>"#);
    if d.environments.is_empty() {
        b.push_str(r#"<p class="muted">The record holds no runs yet.</p></section>"#);
        return;
    }
    for env in &d.environments {
        let _ = write!(
            b,
            r#"<div class="scroll"><table class="status" data-env="{0}"><caption>{0}</caption><thead><tr><th scope="col">App</th><th scope="col">State</th><th scope="col">Live release</th><th scope="col">Deployed</th><th scope="col">Last verdict</th><th scope="col">Open alerts</th></tr></thead><tbody>"#,
            esc(&env.name)
        );
        for a in &env.apps {
            let deployed = match (&a.deployed_at, &a.deployed_by) {
                (Some(at), Some(id)) => format!(
                    r#"{} by <a href="{}">{}</a>"#,
                    esc(at),
                    esc(&run_file(id)),
                    esc(id)
                ),
                _ => r#"<span class="muted">not by shipit</span>"#.to_owned(),
            };
            let last = a.last.as_ref().map_or_else(
                || "—".to_owned(),
                |v| {
                    format!(
                        r#"{} {} <a href="{}">{}</a>"#,
                        esc(&v.kind),
                        badge(&v.result),
                        esc(&run_file(&v.run_id)),
                        esc(&v.at)
                    )
                },
            );
            let _ = write!(
                b,
                r#"<tr data-app="{app}"><th scope="row">{service} <span class="muted">{app}</span></th><td>{}</td><td class="live">{}</td><td>{deployed}</td><td>{last}</td><td>{}</td></tr>"#,
                badge(a.health),
                release(a.live.as_ref()),
                a.open_alerts,
                app = esc(&a.app),
                service = esc(&a.service),
            );
        }
        b.push_str("</tbody></table></div>");
    }
    b.push_str("</section>");
}

fn alerts(b: &mut String, d: &Dashboard) {
    if d.alerts.is_empty() {
        return;
    }
    b.push_str(r#"<section aria-labelledby="alerts"><h2 id="alerts">Open alerts</h2><div class="scroll"><table class="alerts"><thead><tr><th scope="col">Level</th><th scope="col">Environment</th><th scope="col">App</th><th scope="col">Rule</th><th scope="col">Open for</th><th scope="col">What was found</th></tr></thead><tbody>"#);
    for a in &d.alerts {
        let _ = write!(
            b,
            r#"<tr class="alert-row"><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td title="since {}">{}</td><td>{}</td></tr>"#,
            badge(&a.level),
            esc(&a.env),
            esc(&a.app),
            esc(&a.rule),
            esc(&a.first_seen),
            age(a.age_secs),
            esc(&a.summary)
        );
    }
    b.push_str("</tbody></table></div></section>");
}

fn timeline_rows(b: &mut String, entries: &[TimelineEntry], depth: usize) {
    let prefix = if depth == 0 { "" } else { "../" };
    for e in entries {
        let services: Vec<String> = e
            .services
            .iter()
            .map(|s| {
                format!(
                    "{} {}: {} → {}",
                    esc(&s.service),
                    badge(&s.result),
                    release(s.from.as_ref()),
                    release(s.to.as_ref())
                )
            })
            .collect();
        let _ = write!(
            b,
            r#"<tr class="run-row"><td><a href="{prefix}{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&run_file(&e.run_id)),
            esc(&e.started_at),
            esc(e.env.as_deref().unwrap_or("—")),
            esc(&e.kind),
            badge(&e.outcome),
            services.join("<br>")
        );
    }
}

const TIMELINE_HEAD: &str = r#"<thead><tr><th scope="col">Started</th><th scope="col">Environment</th><th scope="col">Kind</th><th scope="col">Outcome</th><th scope="col">Services</th></tr></thead><tbody>"#;

fn deploys(b: &mut String, d: &Dashboard) {
    b.push_str(r#"<section aria-labelledby="deploys"><h2 id="deploys">Deploys</h2>"#);
    if d.timeline.is_empty() {
        b.push_str(r#"<p class="muted">No deploy recorded yet.</p></section>"#);
        return;
    }
    let _ = write!(
        b,
        r#"<div class="scroll"><table class="timeline">{TIMELINE_HEAD}"#
    );
    let shown = &d.timeline[..d.timeline.len().min(INDEX_RUNS)];
    timeline_rows(b, shown, 0);
    let _ = write!(
        b,
        r#"</tbody></table></div><p><a href="runs-1.html">Every deploy ({})</a></p></section>"#,
        d.timeline.len()
    );
}

fn latency(b: &mut String, d: &Dashboard) {
    if d.latency.is_empty() {
        return;
    }
    b.push_str(r#"<section aria-labelledby="latency"><h2 id="latency">Latency and errors</h2>"#);
    for (i, s) in d.latency.iter().enumerate() {
        let p50: Vec<(u64, f64)> = s.points.iter().map(|p| (p.t, p.p50_ms)).collect();
        let p95: Vec<(u64, f64)> = s.points.iter().map(|p| (p.t, p.p95_ms)).collect();
        let err: Vec<(u64, f64)> = s.points.iter().map(|p| (p.t, p.error_pct)).collect();
        let worst = p95.iter().map(|p| p.1).fold(0.0, f64::max);
        let lat = [
            Series {
                name: "p50",
                class: "p50",
                points: p50,
            },
            Series {
                name: "p95",
                class: "p95",
                points: p95,
            },
        ];
        let errs = [Series {
            name: "errors",
            class: "err",
            points: err,
        }];
        let name = format!("{}/{}", s.env, s.app);
        let _ = write!(
            b,
            r#"<h3>{}</h3><figure class="latency" data-app="{}"><figcaption>Latency of {} (ms)</figcaption>{}{}</figure><figure class="errors"><figcaption>Failed probes of {} (%)</figcaption>{}</figure>"#,
            esc(&name),
            esc(&s.app),
            esc(&name),
            legend(&lat),
            line_chart(
                &format!("lat{i}"),
                &format!("{name} latency"),
                &format!(
                    "p50 and p95 latency of {name} in milliseconds over {} points from {} samples; worst p95 {worst} ms",
                    s.points.len(),
                    s.samples
                ),
                "ms",
                &lat
            ),
            esc(&name),
            line_chart(
                &format!("err{i}"),
                &format!("{name} error rate"),
                &format!(
                    "share of failed probes of {name} in percent over {} points",
                    s.points.len()
                ),
                "%",
                &errs
            ),
        );
    }
    b.push_str("</section>");
}

fn drills(b: &mut String, d: &Dashboard) {
    if d.drills.is_empty() {
        return;
    }
    let pts: Vec<(u64, f64)> = d.drills.iter().map(|p| (p.t, p.rollback_secs)).collect();
    let s = [Series {
        name: "time to roll back",
        class: "p95",
        points: pts,
    }];
    let _ = write!(
        b,
        r#"<section aria-labelledby="drills"><h2 id="drills">Rollback drills</h2><figure class="drills"><figcaption>Time to roll back (s)</figcaption>{}</figure><div class="scroll"><table><thead><tr><th scope="col">Drill</th><th scope="col">Environment</th><th scope="col">Time to roll back</th><th scope="col">Ended</th></tr></thead><tbody>"#,
        line_chart(
            "drill",
            "rollback drills",
            &format!(
                "time to roll back in seconds over {} drills",
                d.drills.len()
            ),
            "s",
            &s
        )
    );
    for p in d.drills.iter().rev().take(20) {
        let _ = write!(
            b,
            r#"<tr><td><a href="{}">{}</a></td><td>{}</td><td>{} s</td><td>{}</td></tr>"#,
            esc(&run_file(&p.run_id)),
            esc(&p.at),
            esc(p.env.as_deref().unwrap_or("—")),
            p.rollback_secs,
            badge(if p.healthy { "healthy" } else { "failing" })
        );
    }
    b.push_str("</tbody></table></div></section>");
}

fn database(b: &mut String, d: &Dashboard) {
    if d.database.is_empty() {
        return;
    }
    let errors: Vec<(u64, f64)> = d.database.iter().map(|p| (p.t, p.errors as f64)).collect();
    let warns: Vec<(u64, f64)> = d
        .database
        .iter()
        .map(|p| (p.t, p.warnings as f64))
        .collect();
    let s = [
        Series {
            name: "errors",
            class: "err",
            points: errors,
        },
        Series {
            name: "warnings",
            class: "p95",
            points: warns,
        },
    ];
    let _ = write!(
        b,
        r#"<section aria-labelledby="database"><h2 id="database">Database findings</h2><figure class="database"><figcaption>Findings per verification</figcaption>{}{}</figure>"#,
        legend(&s),
        line_chart(
            "db",
            "database findings",
            &format!(
                "errors and warnings found by {} database verifications",
                d.database.len()
            ),
            "",
            &s
        )
    );
    if let Some(last) = d.database.last() {
        let _ = write!(
            b,
            r#"<h3>Latest: <a href="{}">{}</a></h3><ul>"#,
            esc(&run_file(&last.run_id)),
            esc(&last.at)
        );
        for f in &last.findings {
            let _ = write!(b, "<li>{}</li>", esc(f));
        }
        if last.findings.is_empty() {
            b.push_str("<li>no finding</li>");
        }
        b.push_str("</ul>");
    }
    b.push_str("</section>");
}

fn promotions(b: &mut String, d: &Dashboard) {
    if d.promotions.is_empty() {
        return;
    }
    b.push_str(r#"<section aria-labelledby="promotions"><h2 id="promotions">Promotions</h2><div class="scroll"><table><thead><tr><th scope="col">When</th><th scope="col">Environment</th><th scope="col">Service</th><th scope="col">Image</th><th scope="col">Proved by</th></tr></thead><tbody>"#);
    for p in d.promotions.iter().take(50) {
        let proved = p.proved_by.as_deref().unwrap_or(&p.run_id);
        let _ = write!(
            b,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><a href="{}">{}</a></td></tr>"#,
            esc(&p.at),
            esc(&p.env),
            esc(&p.service),
            esc(&p.image),
            esc(&run_file(proved)),
            esc(proved)
        );
    }
    b.push_str("</tbody></table></div></section>");
}

fn run_list(entries: &[TimelineEntry], n: usize, pages: usize) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<nav aria-label="pages"><p>Page {n} of {pages}{}{}</p></nav><div class="scroll"><table class="timeline">{TIMELINE_HEAD}"#,
        if n > 1 {
            format!(r#" · <a href="runs-{}.html">newer</a>"#, n - 1)
        } else {
            String::new()
        },
        if n < pages {
            format!(r#" · <a href="runs-{}.html">older</a>"#, n + 1)
        } else {
            String::new()
        }
    );
    timeline_rows(&mut b, entries, 0);
    b.push_str("</tbody></table></div>");
    page(&format!("Deploys, page {n}"), 0, &b)
}
