//! The `canary:` block through `shipit config check`: defaults, an app overriding the defaults
//! key by key, and every bad value refused with its place and a hint.

use crate::support::Project;

fn config(canary_defaults: &str, canary_app: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  strategy: canary\n{canary_defaults}apps:\n  web:\n{canary_app}    health: {{ path: /health }}\nenvironments:\n  staging:\n    web: {{ app: web-staging, url: https://web-staging.fly.dev }}\n"
    )
}

fn check(yaml: &str) -> crate::support::Run {
    let p = Project::new();
    p.config(yaml);
    p.run(&["config", "check", "--json"])
}

#[test]
fn defaults_and_overrides_resolve_key_by_key() {
    let run = check(&config(
        "  canary: { machines: \"25%\", duration: 3m, alpha: 0.05, max_latency_increase: 30% }\n",
        "    canary: { interval: 2s, max_error_rate_increase: 0.01, inconclusive: pass }\n",
    ));
    run.code(0);
    let doc = run.json();
    let text = doc.to_string();
    let canary = find(&doc, "canary").unwrap_or_else(|| panic!("no canary in {text}"));
    assert_eq!(canary["machines"]["share"], 0.25);
    assert_eq!(canary["duration"], "3m");
    assert_eq!(canary["interval"], "2s");
    assert_eq!(canary["min_samples"], 30);
    assert_eq!(canary["alpha"], 0.05);
    assert!((canary["max_latency_increase"].as_f64().unwrap() - 0.3).abs() < 1e-12);
    assert_eq!(canary["max_error_rate_increase"], 0.01);
    assert_eq!(canary["inconclusive"], "pass");

    let run = check(&config("", ""));
    run.code(0);
    let doc = run.json();
    let canary = find(&doc, "canary").unwrap();
    assert_eq!(canary["machines"]["count"], 1);
    assert_eq!(canary["duration"], "2m");
    assert_eq!(canary["interval"], "1s");
    assert_eq!(canary["alpha"], 0.01);
    assert_eq!(canary["max_error_rate_increase"], 0.005);
    assert_eq!(canary["inconclusive"], "fail");
}

/// The first object under a key named `key`, anywhere in the document.
fn find<'v>(v: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    match v {
        serde_json::Value::Object(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|x| find(x, key))),
        serde_json::Value::Array(items) => items.iter().find_map(|x| find(x, key)),
        _ => None,
    }
}

#[test]
fn bad_canary_values_are_refused_with_their_place() {
    for (block, message) in [
        (
            "  canary: { machines: 0 }\n",
            "`canary.machines` must be a whole number",
        ),
        (
            "  canary: { machines: \"100%\" }\n",
            "`canary.machines` must be a whole number",
        ),
        (
            "  canary: { machines: many }\n",
            "`canary.machines`: `many` is not a number or a percentage",
        ),
        (
            "  canary: { alpha: 0 }\n",
            "`canary.alpha: 0` must be above 0",
        ),
        (
            "  canary: { min_samples: 2 }\n",
            "`canary.min_samples: 2` must be between 5 and 10000",
        ),
        (
            "  canary: { max_latency_increase: 0% }\n",
            "`canary.max_latency_increase` must be above 0%",
        ),
        (
            "  canary: { max_error_rate_increase: 150% }\n",
            "`canary.max_error_rate_increase` must be between",
        ),
        (
            "  canary: { inconclusive: maybe }\n",
            "`canary.inconclusive: maybe` is not valid",
        ),
        (
            "  canary: { interval: 0s }\n",
            "`canary.interval` must be longer than 0s",
        ),
        (
            "  canary: { duration: 20s }\n",
            "the canary window is too short: 20s every 1s gives 10 probes per side",
        ),
        ("  canary: { wait: 1s }\n", "unknown field `wait`"),
    ] {
        let run = check(&config(block, ""));
        run.code(1).stderr_has("shipit.yml:4:").stderr_has(message);
    }
}
