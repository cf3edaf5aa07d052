//! The canary judgement over simulated releases, for `scripts/bench-canary`: the false-failure
//! rate of identical canaries, the detection rate and time-to-verdict of a slower one, and the
//! share of requests a bad release reaches with a canary against today's all-machines pipeline.
//! Prints figures and ratios to their targets; never fails on a missed target.
//!
//! The window is simulated probe by probe with the default `canary:` settings (2m, 1s, alpha
//! 0.01, 20 %): canary and baseline alternate, latencies are log-normal (a web endpoint's
//! shape), a verdict is taken when the window ends, and an inconclusive window is extended once.
//! `CANARY_SIM_DEBUG=1` prints the rule of every slower canary that was not failed.
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::time::Duration;

use shipit::canary::{CanarySpec, Inconclusive};
use shipit::canary::{Outcome, Side, Verdict, Window, canary_count};

/// xorshift64*: a seeded generator, so a run is reproducible.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn latency(&mut self, median: f64, sigma: f64) -> f64 {
        let (a, b) = (self.uniform(), self.uniform());
        median * (sigma * (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()).exp()
    }
}

struct Release {
    slower: f64,
    sigma: f64,
}

/// Runs one canary; returns the verdict and when it came (seconds into the window).
fn run(spec: &CanarySpec, release: &Release, rng: &mut Rng) -> (Verdict, f64) {
    let per_side = spec.probes_per_side() as usize;
    let mut window = Window::default();
    let mut elapsed = 0.0;
    for round in 0..2 {
        for _ in 0..per_side {
            for side in [Side::Canary, Side::Baseline] {
                let median = if side == Side::Canary {
                    40.0 * release.slower
                } else {
                    40.0
                };
                let outcome = Outcome {
                    latency_ms: Some(rng.latency(median, release.sigma)),
                    pass: true,
                    critical: false,
                };
                window.record(side, &outcome, "");
                elapsed += spec.interval.as_secs_f64();
            }
        }
        let j = window.judge(spec);
        if std::env::var_os("CANARY_SIM_DEBUG").is_some()
            && release.slower > 1.0
            && j.verdict != Verdict::Fail
        {
            println!("{:?} {}", j.verdict, j.rule);
        }
        match j.verdict {
            Verdict::Inconclusive if round == 0 => {}
            Verdict::Inconclusive => {
                let v = match spec.inconclusive {
                    Inconclusive::Fail => Verdict::Fail,
                    Inconclusive::Pass => Verdict::Pass,
                };
                return (v, elapsed);
            }
            v => return (v, elapsed),
        }
    }
    unreachable!("the second round always decides")
}

fn main() {
    let releases: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let spec = CanarySpec::default();
    let window = spec.duration.as_secs_f64();
    let mut rng = Rng(0x5EED_CA4A_4D5E_ED01);
    println!(
        "canary settings: duration {}s, interval {}s ({} probes per side), alpha {}, max_latency_increase {:.0} %",
        window,
        spec.interval.as_secs_f64(),
        spec.probes_per_side(),
        spec.alpha,
        spec.max_latency_increase * 100.0
    );

    for sigma in [0.1, 0.25, 0.5] {
        let same = Release { slower: 1.0, sigma };
        let failed = (0..releases)
            .filter(|_| run(&spec, &same, &mut rng).0 == Verdict::Fail)
            .count();
        let rate = failed as f64 / releases as f64;
        println!(
            "false failures, {releases} identical releases, latency spread {sigma}: {failed} ({:.2} %; target <= alpha {:.0} %; ratio {:.2})",
            rate * 100.0,
            spec.alpha * 100.0,
            rate / spec.alpha
        );
    }

    for sigma in [0.1, 0.25, 0.5] {
        let slow = Release { slower: 1.2, sigma };
        let mut detected = 0;
        let mut within = 0;
        let mut times = Vec::new();
        for _ in 0..releases {
            let (v, at) = run(&spec, &slow, &mut rng);
            if v == Verdict::Fail {
                detected += 1;
                times.push(at);
                if at <= window + 1e-9 {
                    within += 1;
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
        let share = f64::from(within) / releases as f64;
        println!(
            "20 % slower canary, latency spread {sigma}: detected {detected}/{releases}, within the {window}s window {within} ({:.1} %; target >= 95 %; ratio {:.2}); median time to verdict {median}s",
            share * 100.0,
            share / 0.95
        );
    }

    // Exposure: the share of requests the bad release serves, from its first machine until
    // the verdict puts it back. Today's pipeline updates every machine, so all requests meet
    // it until the rollback; a canary exposes only its machines' share, for the window.
    let deploy = Duration::from_secs(90).as_secs_f64();
    let gates = Duration::from_secs(60).as_secs_f64();
    for fleet in [2, 4, 10] {
        let canaries = canary_count(&spec, fleet).unwrap_or(fleet);
        let share = canaries as f64 / fleet as f64;
        let canary_requests = share * (deploy / fleet as f64 + window);
        let full_requests = deploy + gates;
        println!(
            "fleet of {fleet}: a bad release reaches {:.0} % of requests for {:.0}s with a canary ({canaries} machine{}), 100 % for {:.0}s without; exposure {:.1} % of today's (target <= the canary's fleet share {:.0} %; ratio {:.2})",
            share * 100.0,
            deploy / fleet as f64 + window,
            if canaries == 1 { "" } else { "s" },
            full_requests,
            100.0 * canary_requests / full_requests,
            share * 100.0,
            (canary_requests / full_requests) / share
        );
    }
}
