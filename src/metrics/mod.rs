//! What shipit reads from Fly's Prometheus-compatible endpoint (`metrics:` in shipit.yml), as
//! queries over one seam ([`MetricsSource`]: an instant query, answered with samples). The
//! queries and the reading of their answers are here and pure; the HTTP reader is
//! [`prometheus::Prometheus`], the one edge that talks to the endpoint.
//!
//! Series (`reference/monitoring-db-dr.md` §4.5): `fly_app_http_responses_count{app,status}`
//! for the 5xx share, `fly_instance_memory_mem_total` / `_mem_available` (bytes, per
//! `instance`, which is the machine id) for memory, `fly_app_concurrency{app,region}` for load.

pub(crate) mod prometheus;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use crate::cost::findings::{MemoryFigure, RegionLoad};

/// A boxed future borrowing from its caller.
pub(crate) type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One series of an instant query's answer: its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Per-app metrics read from Fly's Prometheus endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Share of the app's responses that were 5xx over the last 5 minutes (0 to 1).
    pub ratio_5xx: Option<f64>,
    /// Highest memory use of one instance, as a share of its total (0 to 1).
    pub memory: Option<f64>,
}

/// Where metrics come from: the endpoint, or a test's fake. The error is one masked sentence
/// saying what went wrong (unreachable, refused token, bad answer), for a warning.
pub trait MetricsSource {
    /// Where the metrics come from, for messages (`https://api.fly.io/prometheus/acme/`).
    fn describe(&self) -> String;
    /// Evaluates `query` at `at` (now when `None`).
    fn query<'a>(
        &'a self,
        query: &'a str,
        at: Option<SystemTime>,
    ) -> Fut<'a, Result<Vec<Sample>, String>>;
}

/// How far back the 5xx share and the load look in a check.
pub(crate) const RATE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// How far back the cost findings look.
pub(crate) const COST_WINDOW: &str = "7d";

/// A label value inside double quotes (Fly app names never need it; a config typo might).
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `[300s]`: a range in whole seconds, at least one minute (four of Fly's 15 s scrapes).
fn range(window: Duration) -> String {
    format!("[{}s]", window.as_secs().max(60))
}

/// The share of the app's responses that were 5xx over `window`. With traffic but no 5xx
/// series the numerator is `vector(0)`; with no traffic at all the answer is empty.
pub(crate) fn ratio_5xx_query(app: &str, window: Duration) -> String {
    let app = quoted(app);
    let r = range(window);
    format!(
        "(sum(rate(fly_app_http_responses_count{{app=\"{app}\",status=~\"5..\"}}{r})) or vector(0)) / sum(rate(fly_app_http_responses_count{{app=\"{app}\"}}{r}))"
    )
}

/// The highest share of its memory any instance of the app uses now.
pub(crate) fn memory_query(app: &str) -> String {
    let app = quoted(app);
    format!(
        "max(1 - fly_instance_memory_mem_available{{app=\"{app}\"}} / fly_instance_memory_mem_total{{app=\"{app}\"}})"
    )
}

/// Each instance's 95th percentile of memory in use (bytes) over seven days.
pub(crate) fn memory_p95_query(app: &str) -> String {
    let app = quoted(app);
    format!(
        "quantile_over_time(0.95, (fly_instance_memory_mem_total{{app=\"{app}\"}} - fly_instance_memory_mem_available{{app=\"{app}\"}})[{COST_WINDOW}:5m])"
    )
}

/// Each region's 95th percentile of concurrent requests over seven days.
pub(crate) fn concurrency_p95_query(app: &str) -> String {
    let app = quoted(app);
    format!(
        "quantile_over_time(0.95, sum by (region) (fly_app_concurrency{{app=\"{app}\"}})[{COST_WINDOW}:5m])"
    )
}

/// The one value of a query that aggregates to a single series; `None` when the answer is
/// empty or not a number (no traffic, no series yet).
fn single(samples: &[Sample]) -> Option<f64> {
    samples
        .iter()
        .map(|s| s.value)
        .find(|v| v.is_finite())
        .map(|v| v.clamp(0.0, f64::MAX))
}

/// The 5xx share of `app` over `window` ending at `at` (now when `None`); `None`: no traffic.
pub(crate) async fn ratio_5xx(
    src: &dyn MetricsSource,
    app: &str,
    window: Duration,
    at: Option<SystemTime>,
) -> Result<Option<f64>, String> {
    let samples = src.query(&ratio_5xx_query(app, window), at).await?;
    Ok(single(&samples).map(|v| v.min(1.0)))
}

/// What `check` reads per app: the 5xx share over the last five minutes and the fullest
/// instance's memory share.
pub(crate) async fn app_now(src: &dyn MetricsSource, app: &str) -> Result<Metrics, String> {
    let memory_q = memory_query(app);
    let (ratio, memory) = tokio::join!(
        ratio_5xx(src, app, RATE_WINDOW, None),
        src.query(&memory_q, None)
    );
    Ok(Metrics {
        ratio_5xx: ratio?,
        memory: single(&memory?).map(|v| v.min(1.0)),
    })
}

/// Each machine's memory p95 over seven days, in MB, for `cost`.
pub(crate) async fn memory_p95(
    src: &dyn MetricsSource,
    app: &str,
) -> Result<Vec<MemoryFigure>, String> {
    let samples = src.query(&memory_p95_query(app), None).await?;
    Ok(samples
        .into_iter()
        .filter(|s| s.value.is_finite())
        .filter_map(|s| {
            Some(MemoryFigure {
                machine_id: s.labels.get("instance")?.clone(),
                p95_used_mb: s.value / (1024.0 * 1024.0),
            })
        })
        .collect())
}

/// Each region's concurrency p95 over seven days, for `cost`.
pub(crate) async fn concurrency_p95(
    src: &dyn MetricsSource,
    app: &str,
) -> Result<Vec<(String, f64)>, String> {
    let samples = src.query(&concurrency_p95_query(app), None).await?;
    Ok(samples
        .into_iter()
        .filter(|s| s.value.is_finite())
        .filter_map(|s| Some((s.labels.get("region")?.clone(), s.value)))
        .collect())
}

/// The metric findings' inputs for one app of `cost`: each machine's memory p95 and each
/// region's load beside the soft limit its started machines say (a region whose machines set
/// no `concurrency.soft_limit` cannot be judged and is left out).
pub(crate) async fn cost_figures(
    src: &dyn MetricsSource,
    app: &str,
    inventory: &crate::platform::inventory::Inventory,
) -> Result<(Vec<MemoryFigure>, Vec<RegionLoad>), String> {
    let (memory, load) = tokio::join!(memory_p95(src, app), concurrency_p95(src, app));
    let loads = load?
        .into_iter()
        .filter_map(|(region, p95)| {
            let soft_limit = inventory
                .machines
                .iter()
                .filter(|m| m.region == region)
                .filter_map(|m| m.soft_limit)
                .min()?;
            Some(RegionLoad {
                region,
                p95_concurrency: p95,
                soft_limit,
            })
        })
        .collect();
    Ok((memory?, loads))
}

/// Reads a Prometheus API answer (`{"status": "success", "data": {"resultType": "vector" |
/// "scalar", "result": ...}}`, or `{"status": "error", "errorType", "error"}`).
pub(crate) fn parse_answer(body: &[u8]) -> Result<Vec<Sample>, String> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("the answer is not a Prometheus API document ({e})"))?;
    if v["status"] != "success" {
        let kind = v["errorType"].as_str().unwrap_or("error");
        let text = v["error"].as_str().unwrap_or("no message");
        return Err(format!("the query was refused: {kind}: {text}"));
    }
    let value_of = |pair: &serde_json::Value| -> Option<f64> {
        let text = pair.get(1)?;
        text.as_str()
            .map(str::parse::<f64>)
            .and_then(Result::ok)
            .or_else(|| text.as_f64())
    };
    let data = &v["data"];
    match data["resultType"].as_str() {
        Some("vector") => Ok(data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default();
                Some(Sample {
                    labels,
                    value: value_of(&r["value"])?,
                })
            })
            .collect()),
        Some("scalar") => Ok(value_of(&data["result"])
            .map(|value| Sample {
                labels: BTreeMap::new(),
                value,
            })
            .into_iter()
            .collect()),
        other => Err(format!(
            "the answer is a `{}`, not an instant vector",
            other.unwrap_or("nothing")
        )),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A scripted [`MetricsSource`] for unit tests: each query gets the samples of the first
    //! case whose text it contains, and every query is logged with its time.

    use std::cell::RefCell;

    use super::{Fut, MetricsSource, Sample};

    /// A query's answer: the samples, or the error sentence.
    pub(crate) type Answer = Result<Vec<Sample>, String>;

    #[derive(Default)]
    pub(crate) struct FakeMetrics {
        /// (part of the query, answer).
        pub(crate) cases: RefCell<Vec<(String, Answer)>>,
        pub(crate) asked: RefCell<Vec<(String, Option<std::time::SystemTime>)>>,
    }

    impl FakeMetrics {
        pub(crate) fn answer(&self, part: &str, value: f64) {
            self.cases.borrow_mut().insert(
                0,
                (
                    part.to_owned(),
                    Ok(vec![Sample {
                        labels: std::collections::BTreeMap::new(),
                        value,
                    }]),
                ),
            );
        }

        pub(crate) fn fail(&self, part: &str, error: &str) {
            self.cases
                .borrow_mut()
                .insert(0, (part.to_owned(), Err(error.to_owned())));
        }
    }

    impl MetricsSource for FakeMetrics {
        fn describe(&self) -> String {
            "fake metrics".into()
        }
        fn query<'a>(
            &'a self,
            query: &'a str,
            at: Option<std::time::SystemTime>,
        ) -> Fut<'a, Result<Vec<Sample>, String>> {
            self.asked.borrow_mut().push((query.to_owned(), at));
            let answer = self
                .cases
                .borrow()
                .iter()
                .find(|(part, _)| query.contains(part.as_str()))
                .map_or_else(|| Ok(Vec::new()), |(_, a)| a.clone());
            Box::pin(async move { answer })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::FakeMetrics;
    use super::*;

    fn block<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn queries_name_fly_series_and_the_app() {
        let q = ratio_5xx_query("web-staging", Duration::from_secs(300));
        assert_eq!(
            q,
            "(sum(rate(fly_app_http_responses_count{app=\"web-staging\",status=~\"5..\"}[300s])) or vector(0)) / sum(rate(fly_app_http_responses_count{app=\"web-staging\"}[300s]))"
        );
        assert!(ratio_5xx_query("a", Duration::from_secs(10)).contains("[60s]"));
        assert!(memory_query("web").contains("fly_instance_memory_mem_available{app=\"web\"}"));
        assert!(memory_p95_query("web").contains("[7d:5m]"));
        assert!(concurrency_p95_query("web").contains("sum by (region) (fly_app_concurrency"));
        assert!(memory_query("a\"b").contains("app=\"a\\\"b\""));
    }

    #[test]
    fn answers_are_read_as_vectors_scalars_or_errors() {
        let v = parse_answer(br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"148ed193b95089","app":"web"},"value":[1787313600.123,"0.25"]},{"metric":{},"value":[1,"NaN"]}]}}"#).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].labels["instance"], "148ed193b95089");
        assert!((v[0].value - 0.25).abs() < 1e-12);
        assert!(v[1].value.is_nan());
        let s = parse_answer(
            br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#,
        )
        .unwrap();
        assert!((s[0].value - 3.0).abs() < 1e-12);
        let e = parse_answer(
            br#"{"status":"error","errorType":"bad_data","error":"unknown function"}"#,
        )
        .unwrap_err();
        assert_eq!(e, "the query was refused: bad_data: unknown function");
        assert!(
            parse_answer(b"<html>")
                .unwrap_err()
                .contains("not a Prometheus API document")
        );
        assert!(
            parse_answer(br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#)
                .unwrap_err()
                .contains("`matrix`")
        );
    }

    #[test]
    fn an_app_with_no_traffic_has_no_5xx_share_and_nan_is_no_value() {
        let m = FakeMetrics::default();
        m.answer("mem_available", 0.42);
        let got = block(app_now(&m, "web")).unwrap();
        assert_eq!(got.ratio_5xx, None, "an empty answer: no traffic");
        assert_eq!(got.memory, Some(0.42));
        m.answer("status=~", f64::NAN);
        assert_eq!(block(app_now(&m, "web")).unwrap().ratio_5xx, None);
        m.answer("status=~", 0.03);
        assert_eq!(block(app_now(&m, "web")).unwrap().ratio_5xx, Some(0.03));
        m.fail("mem_available", "refused");
        assert_eq!(block(app_now(&m, "web")).unwrap_err(), "refused");
    }

    #[test]
    fn cost_figures_come_per_machine_and_per_region() {
        let m = FakeMetrics::default();
        m.cases.borrow_mut().push((
            "fly_instance_memory_mem_total".into(),
            Ok(vec![Sample {
                labels: BTreeMap::from([("instance".into(), "m1".into())]),
                value: 300.0 * 1024.0 * 1024.0,
            }]),
        ));
        m.cases.borrow_mut().push((
            "fly_app_concurrency".into(),
            Ok(vec![Sample {
                labels: BTreeMap::from([("region".into(), "iad".into())]),
                value: 12.5,
            }]),
        ));
        let mem = block(memory_p95(&m, "web")).unwrap();
        assert_eq!(
            mem,
            [MemoryFigure {
                machine_id: "m1".into(),
                p95_used_mb: 300.0
            }]
        );
        let load = block(concurrency_p95(&m, "web")).unwrap();
        assert_eq!(load, [("iad".to_owned(), 12.5)]);
    }
}
