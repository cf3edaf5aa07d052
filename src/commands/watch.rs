//! `shipit watch ENV|APP --for DUR [--interval DUR]`: the monitoring window after a deploy or a
//! migration. `check` every interval until the window ends, with the escalation timings honoured
//! live (each pass is judged at its own time against the record), alerts and resolves sent as
//! they happen, a heartbeat line each minute, and the last pass's table at the end.
//!
//! `--json` prints one document at the end: `{"kind": "watch", "for": "1h", "interval": "1m",
//! "passes": n, "environments": [the last pass's CheckReport], "needs_action": bool,
//! "exit_code": n}`. Exit 1 when any pass found something at alert level, else 0; 130 when
//! cancelled.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::exit::Outcome;
use crate::monitor::check::{self, CheckReport, Deps};
use crate::notify::alert::ChannelSender;
use crate::probe::HttpProber;

/// The heartbeat's period.
const HEARTBEAT: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize)]
struct Document<'a> {
    kind: &'static str,
    #[serde(rename = "for")]
    window: String,
    interval: String,
    passes: u32,
    environments: &'a [CheckReport],
    needs_action: bool,
    exit_code: u8,
}

pub(crate) async fn run(
    ctx: &super::Ctx,
    target: &str,
    service: Option<&str>,
    window: Duration,
    interval: Duration,
) -> anyhow::Result<Outcome> {
    if interval.is_zero() || window.is_zero() {
        anyhow::bail!(
            "`--for` and `--interval` must be longer than 0s\nhint: e.g. `--for 1h --interval 1m`"
        );
    }
    let config = ctx.config()?;
    let services = crate::config::resolve(&config, target, service)?;
    let env = services
        .first()
        .map(|s| s.env.clone())
        .ok_or_else(|| anyhow::anyhow!("nothing to watch in `{target}`"))?;
    let store = crate::store::open(&config)?;
    let platform = ctx.fly()?;
    let prober = HttpProber::new()?;
    let (run_url, _, _) = crate::report::RunRecord::github_context();
    let sender = ChannelSender::new(&config.notify, run_url);
    let metrics = super::check::metrics_reader(&config)?;
    let deps = Deps {
        platform: &platform,
        prober: &prober,
        store: store.as_ref(),
        sender: &sender,
        metrics: metrics
            .as_ref()
            .map(|m| m as &dyn crate::metrics::MetricsSource),
        cost: None,
    };
    let p = &ctx.printer;
    let started_at = SystemTime::now();
    let started = Instant::now();
    let mut passes = 0u32;
    let mut saw_trouble = false;
    let mut last: Option<CheckReport>;
    let mut last_beat = Instant::now();
    p.step(&format!(
        "watching {} app(s) of {env} for {}, a check every {}",
        services.len(),
        crate::duration::format(window),
        crate::duration::format(interval)
    ));
    loop {
        let pass_started = Instant::now();
        let pass = tokio::select! {
            biased;
            () = ctx.stop.stopped() => None,
            r = check::run(&env, &services, &config.monitor, SystemTime::now(), &deps) => Some(r),
        };
        let Some(report) = pass else {
            return Ok(Outcome::Cancelled);
        };
        let report = report?;
        passes += 1;
        saw_trouble |= report.needs_action;
        for s in &report.sent {
            p.info(&format!(
                "sent {} for {}",
                check::send_name(s.message),
                s.key
            ));
        }
        for w in &report.warnings {
            p.warn(w);
        }
        last = Some(report);
        let elapsed = started.elapsed();
        if elapsed >= window {
            break;
        }
        // Sleep until the next pass (start to start), with a heartbeat each minute.
        let next = pass_started + interval;
        let end = started + window;
        let wake = next.min(end);
        while Instant::now() < wake {
            if last_beat.elapsed() >= HEARTBEAT {
                let open = last.as_ref().map_or(0, |r| {
                    r.apps
                        .iter()
                        .flat_map(|a| &a.findings)
                        .filter(|f| f.needs_action())
                        .count()
                });
                p.step(&format!(
                    "watch {env}: {} of {}, {passes} check(s), {open} finding(s) at alert level",
                    crate::duration::format(Duration::from_secs(started.elapsed().as_secs())),
                    crate::duration::format(window)
                ));
                last_beat = Instant::now();
            }
            let nap = wake.saturating_duration_since(Instant::now()).min(
                HEARTBEAT
                    .saturating_sub(last_beat.elapsed())
                    .max(Duration::from_millis(10)),
            );
            tokio::select! {
                biased;
                () = ctx.stop.stopped() => return Ok(Outcome::Cancelled),
                () = tokio::time::sleep(nap) => {}
            }
        }
        if started.elapsed() >= window {
            break;
        }
    }
    let reports: Vec<CheckReport> = last.into_iter().collect();
    if let Some(r) = reports.first() {
        super::check::show_table(ctx, r);
        super::check::record(
            ctx,
            store.as_ref(),
            r,
            &services,
            crate::report::RunKind::Watch,
            started_at,
            started,
        )
        .await;
    }
    let outcome = if saw_trouble {
        Outcome::Failed
    } else {
        Outcome::Success
    };
    if p.json_mode() {
        p.json(&Document {
            kind: "watch",
            window: crate::duration::format(window),
            interval: crate::duration::format(interval),
            passes,
            environments: &reports,
            needs_action: saw_trouble,
            exit_code: outcome.code(),
        });
    }
    let summary = format!(
        "watch {env}: {passes} check(s) over {}",
        crate::duration::format(window)
    );
    if saw_trouble {
        p.error(&format!("{summary}; something reached alert level"));
    } else {
        p.success(&format!("{summary}; nothing reached alert level"));
    }
    Ok(outcome)
}
