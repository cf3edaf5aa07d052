//! `shipit parity ENV_A ENV_B [--app SERVICE] [--allow-image-drift]`: the two environments'
//! apps compared service by service (see `parity`), one table of drifts on stdout.
//!
//! For each service both environments have, shipit reads `flyctl config show`, `machines list
//! --json` and `secrets list --json` of both apps (sides concurrently, at most
//! `CONCURRENCY` sides at once, each side's three calls one after another). Exit 1 when a drift breaks parity, 0 otherwise; the run is recorded
//! (evidence entry, receipt) like every other.

use std::time::{Instant, SystemTime};

use serde::Serialize;

use crate::config::{Config, Service};
use crate::event::Event;
use crate::exit::Outcome;
use crate::parity::{self, Drift, Level, Rules, Side};
use crate::platform::{MachineSpec, Platform, PlatformError};
use crate::report::{GateRecord, RunKind, ServiceRecord, ServiceResult, Verdict};
use crate::settings::ParityOptions;

/// Sides read at the same time. A side reads its three flyctl calls one after another, so this
/// is also the most flyctl processes (tens of MB each) parity holds at once. A flyctl call is
/// mostly a round trip to Fly's API, so the wall time is the number of rounds: every side of up
/// to 32 pairs is one round of three calls. (Three calls at once per side with 32 sides, 96
/// processes, took 5x one pair for 30 pairs: two rounds, where one pair took one call's time.)
const CONCURRENCY: usize = 64;

/// One service's comparison, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Pair {
    service: String,
    app_a: Option<String>,
    app_b: Option<String>,
    /// The images each side's machines run.
    image_a: Vec<String>,
    image_b: Vec<String>,
    /// The platform error that kept this pair from being compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The whole `--json` document.
#[derive(Debug, Serialize)]
struct Report<'a> {
    run_id: &'a str,
    env_a: &'a str,
    env_b: &'a str,
    /// No drift breaks parity (and every pair could be compared).
    parity: bool,
    counts: Counts,
    services: Vec<Pair>,
    drifts: &'a [Drift],
}

#[derive(Debug, Serialize, Default)]
struct Counts {
    breaks: usize,
    allowed: usize,
    info: usize,
}

pub(crate) async fn run(ctx: &super::Ctx, o: ParityOptions) -> anyhow::Result<Outcome> {
    let config = ctx.config()?;
    let pairs = pairs(&config, &o)?;
    let fly = ctx.fly()?;
    let started_at = SystemTime::now();
    let started = Instant::now();
    let p = &ctx.printer;
    p.step(&format!(
        "parity {} vs {}: {} service{}",
        o.env_a,
        o.env_b,
        pairs.len(),
        if pairs.len() == 1 { "" } else { "s" }
    ));
    let rules = Rules {
        ignore: config.parity.ignore.clone(),
        allow_image_drift: o.allow_image_drift,
    };

    // Every side of every pair, read concurrently.
    let wanted: Vec<&Service> = pairs
        .iter()
        .flat_map(|(_, a, b)| [*a, *b].into_iter().flatten())
        .collect();
    let tasks: Vec<_> = wanted.iter().map(|s| read_side(&fly, s)).collect();
    let mut sides: Vec<Option<Result<Side, PlatformError>>> =
        std::iter::repeat_with(|| None).take(tasks.len()).collect();
    tokio::select! {
        biased;
        () = ctx.stop.stopped() => {
            p.error("parity cancelled");
            return Ok(Outcome::Cancelled);
        }
        () = crate::smoke::bounded(tasks, CONCURRENCY, &mut sides) => {}
    }
    let mut sides = sides.into_iter().map(|s| s.expect("every side was read"));

    let mut drifts = Vec::new();
    let mut reports = Vec::new();
    let mut records = Vec::new();
    let mut failed = false;
    for (name, a, b) in &pairs {
        let side_a = a.map(|_| sides.next().expect("side a"));
        let side_b = b.map(|_| sides.next().expect("side b"));
        let mut pair = Pair {
            service: (*name).to_owned(),
            app_a: a.map(|s| s.app.clone()),
            app_b: b.map(|s| s.app.clone()),
            image_a: Vec::new(),
            image_b: Vec::new(),
            error: None,
        };
        let found = match (side_a, side_b) {
            (Some(Ok(sa)), Some(Ok(sb))) => {
                pair.image_a = sa.image_refs().into_iter().collect();
                pair.image_b = sb.image_refs().into_iter().collect();
                parity::compare(name, &sa, &sb, &rules)
            }
            (Some(Err(e)), _) | (_, Some(Err(e))) => {
                failed = true;
                let text = format!("{e}");
                p.error(&format!("{name}: cannot compare: `{}`: {text}", e.command));
                if let Some(h) = e.hint() {
                    p.hint(h);
                }
                pair.error = Some(text);
                Vec::new()
            }
            (Some(Ok(_)), None) => vec![parity::only_in(
                name,
                &o.env_a,
                &a.map(|s| s.app.clone()).unwrap_or_default(),
                true,
            )],
            (None, Some(Ok(_))) => vec![parity::only_in(
                name,
                &o.env_b,
                &b.map(|s| s.app.clone()).unwrap_or_default(),
                false,
            )],
            (None, None) => Vec::new(),
        };
        records.push(service_record(
            &o,
            name,
            *a,
            *b,
            &found,
            pair.error.as_deref(),
        ));
        drifts.extend(found);
        reports.push(pair);
    }

    let mut counts = Counts::default();
    for d in &drifts {
        match d.level {
            Level::Breaks => counts.breaks += 1,
            Level::Allowed => counts.allowed += 1,
            Level::Info => counts.info += 1,
        }
    }
    let parity_holds = counts.breaks == 0 && !failed;
    print_table(ctx, &o, &drifts);
    let mut record = super::new_record(RunKind::Parity, Some(o.env_a.clone()), started_at);
    record.services = records;
    record.summary = format!(
        "parity {} vs {}: {}",
        o.env_a,
        o.env_b,
        if failed {
            "could not compare every service".to_owned()
        } else if parity_holds {
            format!(
                "in parity ({} allowed drift{}, {} info)",
                counts.allowed,
                if counts.allowed == 1 { "" } else { "s" },
                counts.info
            )
        } else {
            format!(
                "{} drift{} break parity",
                counts.breaks,
                if counts.breaks == 1 { "" } else { "s" }
            )
        }
    );
    if p.json_mode() {
        p.json(&Report {
            run_id: &record.id,
            env_a: &o.env_a,
            env_b: &o.env_b,
            parity: parity_holds,
            counts,
            services: reports,
            drifts: &drifts,
        });
    }
    let outcome = if parity_holds {
        Outcome::Success
    } else {
        Outcome::Failed
    };
    Ok(super::end_check_run(ctx, &config, record, started, outcome, Event::Failed).await)
}

/// A service name with its service in each environment (absent where it has none).
type PairOf<'c> = (&'c str, Option<&'c Service>, Option<&'c Service>);

/// The services to compare: both environments' in A's order, then B's own, each with the
/// service of A and of B (absent on the side that does not have it).
fn pairs<'c>(config: &'c Config, o: &ParityOptions) -> anyhow::Result<Vec<PairOf<'c>>> {
    let env = |name: &str| {
        config.environment(name).ok_or_else(|| {
            let names: Vec<&str> = config
                .environments
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            let hint = crate::config::closest(name, names.iter().copied()).map_or_else(
                || {
                    format!(
                        "environments in {}: {}",
                        config.path.display(),
                        names.join(", ")
                    )
                },
                |b| format!("did you mean `{b}`?"),
            );
            anyhow::anyhow!(
                "`{name}` is not an environment in {}\nhint: {hint}",
                config.path.display()
            )
        })
    };
    let (a, b) = (env(&o.env_a)?, env(&o.env_b)?);
    if a.name == b.name {
        anyhow::bail!(
            "parity compares two environments, and `{}` was given twice\nhint: e.g. `shipit parity staging production`",
            a.name
        );
    }
    let mut names: Vec<&str> = a.services.iter().map(|s| s.name.as_str()).collect();
    for s in &b.services {
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    if let Some(only) = &o.service {
        if !names.contains(&only.as_str()) {
            anyhow::bail!(
                "neither `{}` nor `{}` has a service `{only}`\nhint: their services: {}",
                a.name,
                b.name,
                names.join(", ")
            );
        }
        names.retain(|n| n == only);
    }
    Ok(names
        .into_iter()
        .map(|n| {
            (
                n,
                a.services.iter().find(|s| s.name == n),
                b.services.iter().find(|s| s.name == n),
            )
        })
        .collect())
}

/// What parity needs of one app: its config as Fly has it, its active machines and its
/// secret names (the values and digests are dropped here, at the edge).
async fn read_side<P: Platform>(platform: &P, s: &Service) -> Result<Side, PlatformError> {
    // One call at a time: a side holds one flyctl process, so `CONCURRENCY` bounds them all.
    let config = platform.app_config(&s.app).await?;
    let machines = platform.machine_specs(&s.app).await?;
    let secrets = platform.secrets(&s.app).await?;
    Ok(Side {
        config,
        machines: machines
            .into_iter()
            .filter(MachineSpec::is_active)
            .collect(),
        secrets: secrets.into_iter().map(|s| s.name).collect(),
    })
}

/// One table, on stdout: level, service, kind, key, both values.
fn print_table(ctx: &super::Ctx, o: &ParityOptions, drifts: &[Drift]) {
    let p = &ctx.printer;
    if drifts.is_empty() {
        p.out(&format!("no drift between {} and {}", o.env_a, o.env_b));
        return;
    }
    let header = [
        "LEVEL".to_owned(),
        "SERVICE".into(),
        "KIND".into(),
        "KEY".into(),
        o.env_a.to_uppercase(),
        o.env_b.to_uppercase(),
    ];
    let rows: Vec<[String; 6]> = drifts
        .iter()
        .map(|d| {
            let mut b = d.b.clone();
            if let Some(n) = &d.note {
                b = format!("{b}  ({n})");
            }
            [
                d.level.name().to_owned(),
                d.service.clone(),
                d.kind.name().to_owned(),
                d.key.clone(),
                d.a.clone(),
                b,
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    p.out(&line(&header));
    for row in &rows {
        p.out(&line(row));
    }
}

/// The service's part of the run record: one `parity` gate, each drift a detail line.
fn service_record(
    o: &ParityOptions,
    name: &str,
    a: Option<&Service>,
    b: Option<&Service>,
    drifts: &[Drift],
    error: Option<&str>,
) -> ServiceRecord {
    let main = a.or(b).expect("a pair has at least one side");
    let apps = [a, b]
        .iter()
        .map(|s| s.map_or("-", |s| s.app.as_str()))
        .collect::<Vec<_>>()
        .join(" vs ");
    let mut rec = ServiceRecord::new(&main.env, name, &apps, main.url.shown());
    let breaks = drifts.iter().filter(|d| d.level == Level::Breaks).count();
    rec.result = if breaks == 0 && error.is_none() {
        ServiceResult::Succeeded
    } else {
        ServiceResult::Unhealthy
    };
    rec.gates.push(GateRecord {
        name: "parity".into(),
        rule: format!(
            "{} and {} match except what parity.ignore allows",
            o.env_a, o.env_b
        ),
        observed: error.map_or_else(
            || format!("{} drift(s), {breaks} breaking parity", drifts.len()),
            |e| format!("not compared: {e}"),
        ),
        verdict: if rec.result == ServiceResult::Succeeded {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        details: drifts
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}: {}={} {}={}",
                    d.level.name(),
                    d.kind.name(),
                    d.key,
                    o.env_a,
                    d.a,
                    o.env_b,
                    d.b
                )
            })
            .collect(),
    });
    for d in drifts.iter().filter(|d| d.level == Level::Breaks) {
        rec.issues.push(format!(
            "{} drift: {} ({} vs {})",
            d.kind.name(),
            d.key,
            d.a,
            d.b
        ));
    }
    if let Some(e) = error {
        rec.issues.push(e.to_owned());
    }
    rec
}
