//! Latency figures of a probe sample: count, failures, error rate, p50, p95 and max.
//!
//! Percentiles use the **nearest-rank** definition: sort the n latencies ascending; the p-th
//! percentile is the value at rank ⌈p/100 × n⌉ (1-based), and p0 is the smallest. It is always a
//! latency that was actually measured, never an interpolation, and it is exact for any n: with
//! 10 probes p95 is the largest (rank ⌈9.5⌉ = 10), with 20 it is the 19th.
//!
//! Latencies count only for probes that got an answer: a refused connection's "latency" says
//! nothing about the release's speed. Failures count every probe that did not pass.

use std::time::Duration;

use super::gate::ProbeRecord;
pub use crate::report::{LatencyStats, percent};

// The figures are a record type (`report::LatencyStats`, kept in receipts and worded there);
// computing them from probe records is the probe's.

impl LatencyStats {
    pub fn from_records(records: &[ProbeRecord]) -> LatencyStats {
        let mut latencies: Vec<Duration> = records
            .iter()
            .filter(|r| r.status.is_some())
            .map(|r| r.latency)
            .collect();
        latencies.sort_unstable();
        let count = records.len() as u32;
        let failures = records.iter().filter(|r| !r.pass).count() as u32;
        LatencyStats {
            count,
            failures,
            error_rate: if count == 0 {
                0.0
            } else {
                f64::from(failures) / f64::from(count)
            },
            answered: latencies.len() as u32,
            p50: percentile(&latencies, 50).unwrap_or_default(),
            p95: percentile(&latencies, 95).unwrap_or_default(),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }
}

/// The nearest-rank `p`-th percentile (0 to 100) of values sorted ascending; `None` when there
/// are none.
pub fn percentile(sorted: &[Duration], p: u32) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.min(100) as usize;
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        let mut v: Vec<Duration> = values.iter().map(|&m| Duration::from_millis(m)).collect();
        v.sort_unstable();
        v
    }

    fn record(status: Option<u16>, latency_ms: u64, pass: bool) -> ProbeRecord {
        ProbeRecord {
            at: Duration::ZERO,
            status,
            latency: Duration::from_millis(latency_ms),
            connected: status.is_some(),
            pass,
            failed: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn nearest_rank_on_small_samples() {
        let one = ms(&[7]);
        for p in [0, 1, 50, 95, 100] {
            assert_eq!(percentile(&one, p), Some(Duration::from_millis(7)));
        }
        let ten = ms(&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert_eq!(percentile(&ten, 0), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&ten, 10), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&ten, 11), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&ten, 50), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&ten, 95), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&ten, 100), Some(Duration::from_millis(100)));
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(
            percentile(&ms(&twenty), 95),
            Some(Duration::from_millis(19))
        );
        assert_eq!(
            percentile(&ms(&[3, 1, 2, 4]), 50),
            Some(Duration::from_millis(2))
        );
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(
            percentile(&ms(&[1, 2]), 250),
            Some(Duration::from_millis(2)),
            "p is capped at 100"
        );
    }

    #[test]
    fn stats_count_failures_over_all_and_latency_over_answers() {
        let records = vec![
            record(Some(200), 30, true),
            record(Some(200), 10, true),
            record(Some(500), 20, false),
            record(None, 5000, false),
        ];
        let s = LatencyStats::from_records(&records);
        assert_eq!((s.count, s.failures, s.answered), (4, 2, 3));
        assert!((s.error_rate - 0.5).abs() < 1e-12);
        assert_eq!(s.p50, Duration::from_millis(20));
        assert_eq!(s.p95, Duration::from_millis(30));
        assert_eq!(
            s.max,
            Duration::from_millis(30),
            "the refused probe's wait is not a latency"
        );
        assert_eq!(
            s.summary(),
            "4 probes, 2 failed (50%), p50 20ms, p95 30ms, max 30ms"
        );
    }

    #[test]
    fn empty_and_all_failed_samples() {
        let s = LatencyStats::from_records(&[]);
        assert_eq!(
            (s.count, s.failures, s.answered, s.error_rate),
            (0, 0, 0, 0.0)
        );
        assert_eq!(s.p95, Duration::ZERO);
        let s = LatencyStats::from_records(&[record(None, 1, false), record(None, 1, false)]);
        assert_eq!((s.error_rate, s.answered), (1.0, 0));
        assert_eq!(s.summary(), "2 probes, 2 failed (100%), no answers");
    }

    #[test]
    fn round_trips_through_json() {
        let s =
            LatencyStats::from_records(&[record(Some(200), 12, true), record(Some(200), 40, true)]);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""p95_ms":40.0"#), "{json}");
        assert_eq!(serde_json::from_str::<LatencyStats>(&json).unwrap(), s);
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(0.0), "0%");
    }
}
