//! fly.toml as flyctl's `appconfig.Config` sees it: parsed from TOML, stored with a release
//! (the release's `configDefinition`), rebuilt from machines when a release has none, and
//! printed by `config show` the way `json.MarshalIndent(cfg, "", "  ")` prints the struct.
//!
//! Go prints struct fields in declaration order and map keys sorted; `ORDER` lists the struct
//! orders of the sections shipit reads (`internal/appconfig/config.go`, `service.go`,
//! `toplevelcheck.go`, fly-go `machine_types.go`). Durations are `fly.Duration`, which prints
//! Go's `time.Duration` text (`"1m"` becomes `"1m0s"`); `auto_stop_machines` is
//! `fly.MachineAutostop`, which prints `true`/`false` for stop/off and `"suspend"` as a string.
//! Keys the struct does not have are kept, sorted, after the known ones (Go would drop them; a
//! test that plants one should still see it come back).

use serde_json::{Map, Value};

use crate::gojson::{J, map};
use crate::state::{App, Machine};

/// Struct field orders, by the path of the object (`[]` for any array element).
const ORDER: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "app",
            "primary_region",
            "kill_signal",
            "kill_timeout",
            "swap_size_mb",
            "console_command",
            "experimental",
            "build",
            "deploy",
            "env",
            "processes",
            "mounts",
            "http_service",
            "services",
            "checks",
            "files",
            "host_dedication_id",
            "machine_config",
            "container",
            "machine_checks",
            "restart",
            "vm",
            "statics",
            "metrics",
        ],
    ),
    (
        "deploy",
        &[
            "strategy",
            "max_unavailable",
            "wait_timeout",
            "release_command",
            "release_command_timeout",
            "release_command_vm",
            "seed_command",
        ],
    ),
    (
        "http_service",
        &[
            "internal_port",
            "force_https",
            "auto_stop_machines",
            "auto_start_machines",
            "min_machines_running",
            "processes",
            "concurrency",
            "tls_options",
            "http_options",
            "checks",
            "machine_checks",
        ],
    ),
    (
        "services[]",
        &[
            "protocol",
            "internal_port",
            "auto_stop_machines",
            "auto_start_machines",
            "min_machines_running",
            "ports",
            "concurrency",
            "tcp_checks",
            "http_checks",
            "machine_checks",
            "processes",
        ],
    ),
    (
        "services[].ports[]",
        &[
            "port",
            "start_port",
            "end_port",
            "handlers",
            "force_https",
            "tls_options",
            "http_options",
        ],
    ),
    (
        "http_service.concurrency",
        &["type", "hard_limit", "soft_limit"],
    ),
    (
        "services[].concurrency",
        &["type", "hard_limit", "soft_limit"],
    ),
    ("http_service.checks[]", HTTP_CHECK),
    ("services[].http_checks[]", HTTP_CHECK),
    (
        "services[].tcp_checks[]",
        &["interval", "timeout", "grace_period", "restart_limit"],
    ),
    (
        "checks.*",
        &[
            "port",
            "type",
            "interval",
            "timeout",
            "grace_period",
            "method",
            "path",
            "protocol",
            "tls_skip_verify",
            "tls_server_name",
            "headers",
            "processes",
        ],
    ),
    (
        "mounts[]",
        &[
            "source",
            "destination",
            "initial_size",
            "snapshot_retention",
            "auto_extend_size_threshold",
            "auto_extend_size_increment",
            "auto_extend_size_limit",
            "processes",
        ],
    ),
    (
        "vm[]",
        &[
            "size",
            "memory",
            "cpu_kind",
            "cpus",
            "memory_mb",
            "gpus",
            "gpu_kind",
            "host_dedication_id",
            "kernel_args",
            "processes",
        ],
    ),
    ("restart[]", &["policy", "retries", "processes"]),
];

const HTTP_CHECK: &[&str] = &[
    "interval",
    "timeout",
    "grace_period",
    "method",
    "path",
    "protocol",
    "tls_skip_verify",
    "tls_server_name",
    "headers",
];

/// Keys whose values are `fly.Duration`.
const DURATIONS: &[&str] = &[
    "interval",
    "timeout",
    "grace_period",
    "kill_timeout",
    "wait_timeout",
    "release_command_timeout",
];

/// Parses fly.toml text into the JSON the double stores for a release; `None` when it is not
/// TOML (flyctl would have refused the deploy while validating).
pub fn from_toml(text: &str) -> Option<Value> {
    let table: toml::Table = toml::from_str(text).ok()?;
    serde_json::to_value(table).ok()
}

/// The config as `config show` prints it, with `app` set to the app it belongs to (flyctl's
/// `--app` overrides the file's `app`).
pub fn render(app_name: &str, config: &Value) -> J {
    let mut config = config.clone();
    if let Some(o) = config.as_object_mut() {
        o.insert("app".to_owned(), Value::from(app_name));
    }
    ordered(&config, "", None)
}

fn ordered(v: &Value, path: &str, key: Option<&str>) -> J {
    match v {
        Value::Object(o) => {
            let order = ORDER
                .iter()
                .find(|(p, _)| *p == path || wildcard(p, path))
                .map(|(_, keys)| *keys);
            let child = |k: &str| {
                if path.is_empty() {
                    k.to_owned()
                } else {
                    format!("{path}.{k}")
                }
            };
            match order {
                // A Go map (env, processes, headers, checks by name): sorted keys.
                None => map(o
                    .iter()
                    .map(|(k, v)| (k.clone(), ordered(v, &child(k), Some(k))))),
                Some(keys) => {
                    let mut fields: Vec<(String, J)> = keys
                        .iter()
                        .filter_map(|k| o.get(*k).map(|v| ((*k).to_owned(), v)))
                        .map(|(k, v)| {
                            let j = ordered(v, &child(&k), Some(&k));
                            (k, j)
                        })
                        .collect();
                    let mut rest: Vec<(&String, &Value)> = o
                        .iter()
                        .filter(|(k, _)| !keys.contains(&k.as_str()))
                        .collect();
                    rest.sort_by(|a, b| a.0.cmp(b.0));
                    fields.extend(
                        rest.into_iter()
                            .map(|(k, v)| (k.clone(), ordered(v, &child(k), Some(k)))),
                    );
                    J::Obj(fields)
                }
            }
        }
        Value::Array(items) => J::Arr(
            items
                .iter()
                .map(|i| ordered(i, &format!("{path}[]"), None))
                .collect(),
        ),
        Value::String(s) if key.is_some_and(|k| DURATIONS.contains(&k)) => {
            J::from(go_duration(s).unwrap_or_else(|| s.clone()))
        }
        Value::String(s) if key == Some("auto_stop_machines") => match s.as_str() {
            "stop" | "true" => J::Bool(true),
            "off" | "false" => J::Bool(false),
            _ => J::from(s.as_str()),
        },
        other => J::from_value(other),
    }
}

/// `checks.*` matches `checks.health` (a map of structs).
fn wildcard(pattern: &str, path: &str) -> bool {
    pattern.strip_suffix(".*").is_some_and(|prefix| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|name| !name.contains('.') && !name.contains('['))
    })
}

/// `time.ParseDuration` then `Duration.String()` for the forms fly.toml uses: `"15s"`, `"1m"`
/// (`"1m0s"`), `"1m30s"`, `"500ms"`, `"2h"` (`"2h0m0s"`), a bare number of seconds.
pub fn go_duration(text: &str) -> Option<String> {
    let mut rest = text.trim();
    if let Ok(n) = rest.parse::<u64>() {
        return Some(format_duration_ns(u128::from(n) * 1_000_000_000));
    }
    let mut total: f64 = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, ns) = [
            ("ns", 1.0),
            ("us", 1e3),
            ("µs", 1e3),
            ("ms", 1e6),
            ("s", 1e9),
            ("m", 60e9),
            ("h", 3600e9),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))?;
        rest = &rest[unit.len()..];
        total += number * ns;
    }
    Some(format_duration_ns(total.round() as u128))
}

/// Go's `Duration.String()` for non-negative durations.
fn format_duration_ns(ns: u128) -> String {
    if ns == 0 {
        return "0s".to_owned();
    }
    if ns < 1_000_000_000 {
        let (value, unit) = if ns < 1_000 {
            (ns as f64, "ns")
        } else if ns < 1_000_000 {
            (ns as f64 / 1e3, "µs")
        } else {
            (ns as f64 / 1e6, "ms")
        };
        return format!("{}{unit}", trim_float(value));
    }
    let hours = ns / 3_600_000_000_000;
    let minutes = (ns / 60_000_000_000) % 60;
    let seconds = (ns % 60_000_000_000) as f64 / 1e9;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", trim_float(seconds)));
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The guest a `[[vm]]` section asks for, for machines of `group`: flyctl's presets
/// (`shared-cpu-Nx`: N shared CPUs with 256 MB each; `performance-Nx`: N performance CPUs with
/// 2048 MB each), then `memory` (`"512mb"`, `"1gb"`, a number of MB), then the explicit
/// `cpu_kind`, `cpus` and `memory_mb`. `None` when no `[[vm]]` applies to the group.
pub fn guest_for(config: &Value, group: &str) -> Option<crate::state::Guest> {
    let vms = config.get("vm")?.as_array()?;
    let vm = vms.iter().find(|vm| {
        vm.get("processes")
            .and_then(Value::as_array)
            .is_some_and(|p| p.iter().any(|g| g.as_str() == Some(group)))
    });
    let vm = vm.or_else(|| vms.iter().find(|vm| vm.get("processes").is_none()))?;
    let mut guest = crate::state::Guest::default();
    if let Some(size) = vm.get("size").and_then(Value::as_str) {
        let (kind, per_cpu) = if size.starts_with("performance-") {
            ("performance", 2048)
        } else {
            ("shared", 256)
        };
        let cpus: u64 = size
            .rsplit('-')
            .next()
            .and_then(|n| n.strip_suffix('x'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        guest.cpu_kind = kind.to_owned();
        guest.cpus = cpus;
        guest.memory_mb = cpus * per_cpu;
    }
    if let Some(memory) = vm.get("memory").and_then(memory_mb) {
        guest.memory_mb = memory;
    }
    if let Some(kind) = vm.get("cpu_kind").and_then(Value::as_str) {
        kind.clone_into(&mut guest.cpu_kind);
    }
    if let Some(cpus) = vm.get("cpus").and_then(Value::as_u64) {
        guest.cpus = cpus;
    }
    if let Some(memory) = vm.get("memory_mb").and_then(Value::as_u64) {
        guest.memory_mb = memory;
    }
    Some(guest)
}

/// `"512mb"`, `"1gb"`, `"2048"` or 2048, in MB.
fn memory_mb(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let text = v.as_str()?.trim().to_ascii_lowercase();
    if let Some(gb) = text.strip_suffix("gb").or_else(|| text.strip_suffix('g')) {
        return gb.trim().parse::<u64>().ok().map(|g| g * 1024);
    }
    let mb = text
        .strip_suffix("mb")
        .or_else(|| text.strip_suffix('m'))
        .unwrap_or(&text);
    mb.trim().parse().ok()
}

/// flyctl's `FromAppAndMachineSet` when the current release carries no config: the most
/// common machine config turned back into fly.toml (primary region, env without the keys Fly
/// sets itself, services with their ports and checks, the guest as `[[vm]]`).
pub fn from_machines(app: &App) -> Value {
    let mut config = Map::new();
    let machines: Vec<&Machine> = app
        .active_machines()
        .filter(|m| m.process_group() == "app")
        .collect();
    // Majority vote over what the double varies per machine.
    let key = |m: &Machine| {
        serde_json::json!({"env": m.env, "guest": m.effective_guest(), "region": m.region})
            .to_string()
    };
    let mut counts: Vec<(String, usize, &Machine)> = Vec::new();
    for m in &machines {
        let k = key(m);
        match counts.iter_mut().find(|(c, _, _)| *c == k) {
            Some(entry) => entry.1 += 1,
            None => counts.push((k, 1, m)),
        }
    }
    let Some(&(_, _, common)) = counts.iter().max_by_key(|(_, n, _)| *n) else {
        return Value::Object(config);
    };
    config.insert(
        "primary_region".to_owned(),
        Value::from(common.region.clone()),
    );
    if let Some(env) = common.env.as_ref().filter(|e| !e.is_empty()) {
        config.insert(
            "env".to_owned(),
            serde_json::to_value(env).unwrap_or_default(),
        );
    }
    let guest = common.effective_guest();
    config.insert(
        "vm".to_owned(),
        serde_json::json!([{"cpu_kind": guest.cpu_kind, "cpus": guest.cpus, "memory_mb": guest.memory_mb}]),
    );
    Value::Object(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration("15s").as_deref(), Some("15s"));
        assert_eq!(go_duration("1m").as_deref(), Some("1m0s"));
        assert_eq!(go_duration("1m21s").as_deref(), Some("1m21s"));
        assert_eq!(go_duration("2h").as_deref(), Some("2h0m0s"));
        assert_eq!(go_duration("500ms").as_deref(), Some("500ms"));
        assert_eq!(go_duration("1.5s").as_deref(), Some("1.5s"));
        assert_eq!(go_duration("30").as_deref(), Some("30s"));
        assert_eq!(go_duration("soon"), None);
    }

    #[test]
    fn renders_in_struct_order_with_sorted_maps() {
        let config = from_toml(
            "app = 'x'\nprimary_region = 'iad'\n[env]\nZ = '1'\nA = '2'\n[deploy]\nrelease_command = 'm'\nstrategy = 'rolling'\n[http_service]\nauto_stop_machines = 'stop'\ninternal_port = 3000\n[[http_service.checks]]\npath = '/health'\ninterval = '1m'\n",
        )
        .unwrap();
        let text = render("real-app", &config).compact();
        assert_eq!(
            text,
            r#"{"app":"real-app","primary_region":"iad","deploy":{"strategy":"rolling","release_command":"m"},"env":{"A":"2","Z":"1"},"http_service":{"internal_port":3000,"auto_stop_machines":true,"checks":[{"interval":"1m0s","path":"/health"}]}}"#
        );
    }

    #[test]
    fn vm_sections_pick_the_guest() {
        let config = from_toml("[[vm]]\nsize = 'shared-cpu-2x'\nmemory = '1gb'\n").unwrap();
        let g = guest_for(&config, "app").unwrap();
        assert_eq!(
            (g.cpu_kind.as_str(), g.cpus, g.memory_mb),
            ("shared", 2, 1024)
        );
        let config = from_toml(
            "[[vm]]\nsize = 'performance-1x'\nprocesses = ['worker']\n[[vm]]\ncpu_kind = 'shared'\ncpus = 1\nmemory_mb = 512\n",
        )
        .unwrap();
        let g = guest_for(&config, "worker").unwrap();
        assert_eq!(
            (g.cpu_kind.as_str(), g.cpus, g.memory_mb),
            ("performance", 1, 2048)
        );
        let g = guest_for(&config, "app").unwrap();
        assert_eq!(
            (g.cpu_kind.as_str(), g.cpus, g.memory_mb),
            ("shared", 1, 512)
        );
        assert!(guest_for(&from_toml("app = 'x'\n").unwrap(), "app").is_none());
    }
}
