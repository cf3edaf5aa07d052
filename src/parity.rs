//! Staging/production parity: two environments compared app by app, as pure logic over what
//! the platform reported (`config show`, `machines list`, `secrets list`). `commands/parity.rs`
//! gathers those and prints the drifts.
//!
//! What is compared, per service: the app's fly.toml as Fly has it, after normalising what is
//! meant to differ (the app name and the primary region are info; env values are info, env
//! keys are compared); the machines' size (CPU kind, CPUs, memory) per process group; the
//! names of the app's secrets (never values or digests); and the image every machine runs (by
//! digest when flaps reports one). Each drift has a level: `breaks` (parity is broken: exit 1),
//! `allowed` (a key listed in `parity.ignore`, a service only one environment has, the image
//! under `--allow-image-drift`), or `info` (meant to differ).
//!
//! **Invariant:** no secret value or digest is ever part of a drift: secrets are compared by
//! name, and header values in checks are shown as `(set)`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::platform::MachineSpec;

/// One side of a comparison: one service's app in one environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Side {
    /// `config show` (fly.toml as JSON).
    pub config: Value,
    /// Its active machines.
    pub machines: Vec<MachineSpec>,
    /// Secret names only.
    pub secrets: Vec<String>,
}

impl Side {
    /// Whether flaps reported a digest for every machine.
    fn all_digests(&self) -> bool {
        self.machines.iter().all(|m| m.digest.is_some())
    }

    fn digests(&self) -> BTreeSet<String> {
        self.machines
            .iter()
            .filter_map(|m| m.digest.clone())
            .collect()
    }

    /// The image references, for display.
    pub(crate) fn image_refs(&self) -> BTreeSet<String> {
        self.machines
            .iter()
            .map(|m| m.image.clone())
            .filter(|i| !i.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Level {
    /// Drift that breaks parity.
    Breaks,
    /// Drift the config allows.
    Allowed,
    /// Meant to differ; shown for the record.
    Info,
}

impl Level {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Breaks => "breaks",
            Level::Allowed => "allowed",
            Level::Info => "info",
        }
    }
}

/// What part of an app drifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// The service exists in one environment only.
    Service,
    Image,
    /// Machine size: CPU kind, CPUs, memory (what runs, and `[[vm]]`).
    Vm,
    /// `[http_service]` / `[[services]]`: ports, handlers, autostop, concurrency.
    Services,
    Checks,
    /// `[deploy]`: `strategy`, `release_command`...
    Deploy,
    /// `[processes]` and the machines' process groups.
    Processes,
    Mounts,
    Env,
    Secrets,
    /// App name and primary region: normalised.
    Name,
    /// Any other fly.toml key.
    Config,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Image => "image",
            Kind::Vm => "vm",
            Kind::Services => "services",
            Kind::Checks => "checks",
            Kind::Deploy => "deploy",
            Kind::Processes => "processes",
            Kind::Mounts => "mounts",
            Kind::Env => "env",
            Kind::Secrets => "secrets",
            Kind::Name => "name",
            Kind::Config => "config",
        }
    }
}

/// One difference between the two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Drift {
    pub service: String,
    pub level: Level,
    pub kind: Kind,
    /// Where: a fly.toml path (`http_service.checks[0].path`), `guest.app.memory_mb`,
    /// `env.LOG_LEVEL`, `secrets.STRIPE_KEY`, `image`.
    pub key: String,
    /// The first environment's value (`-` when absent).
    pub a: String,
    /// The second environment's value.
    pub b: String,
    /// Why it has its level, when that is not obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How drifts are judged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    /// `parity.ignore`: keys (or key prefixes: `deploy`, `env.DEBUG`, `guest.worker`) whose
    /// drift the config allows.
    pub ignore: Vec<String>,
    pub allow_image_drift: bool,
}

impl Rules {
    /// The ignore entry that covers `key`: the key itself or a prefix ending at `.` or `[`.
    fn ignored_by(&self, key: &str) -> Option<&str> {
        self.ignore
            .iter()
            .find(|i| {
                key == i.as_str()
                    || key
                        .strip_prefix(i.as_str())
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
            .map(String::as_str)
    }
}

/// What a fly.toml key's absence looks like.
const ABSENT: &str = "-";

/// Compares one service's two apps; drifts in a stable order (level, kind, key).
pub(crate) fn compare(service: &str, a: &Side, b: &Side, rules: &Rules) -> Vec<Drift> {
    let mut out = Vec::new();
    let mut push = |kind: Kind, key: String, va: String, vb: String, level: Level| {
        let (level, note) = match (level, rules.ignored_by(&key)) {
            (Level::Breaks, Some(entry)) => {
                (Level::Allowed, Some(format!("parity.ignore: {entry}")))
            }
            (level, _) => (level, None),
        };
        out.push(Drift {
            service: service.to_owned(),
            level,
            kind,
            key,
            a: va,
            b: vb,
            note,
        });
    };

    // The image each side runs.
    // The same image under two apps' references (a promotion deploys staging's reference to
    // production) has one digest; without digests on both sides, references are compared.
    let same_image = if a.all_digests() && b.all_digests() {
        a.digests() == b.digests()
    } else {
        a.image_refs() == b.image_refs()
    };
    if !same_image {
        let level = if rules.allow_image_drift {
            Level::Allowed
        } else {
            Level::Breaks
        };
        let show = |s: &Side| join_or_absent(&s.image_refs());
        push(Kind::Image, "image".into(), show(a), show(b), level);
    }

    // fly.toml, normalised.
    let flat_a = flatten(&a.config);
    let flat_b = flatten(&b.config);
    let keys: BTreeSet<&String> = flat_a.keys().chain(flat_b.keys()).collect();
    let mut env_value_drift = Vec::new();
    for key in keys {
        let va = flat_a.get(key).map_or(ABSENT, String::as_str);
        let vb = flat_b.get(key).map_or(ABSENT, String::as_str);
        if va == vb {
            continue;
        }
        let kind = kind_of(key);
        if key == "app" || key == "primary_region" {
            push(kind, key.clone(), va.into(), vb.into(), Level::Info);
            continue;
        }
        if let Some(name) = key.strip_prefix("env.") {
            if va != ABSENT && vb != ABSENT {
                // Per-environment values are meant to differ; the keys must not.
                env_value_drift.push(name.to_owned());
                continue;
            }
            let set = |v: &str| if v == ABSENT { ABSENT } else { "set" };
            push(
                kind,
                key.clone(),
                set(va).into(),
                set(vb).into(),
                Level::Breaks,
            );
            continue;
        }
        let (va, vb) = if key.contains(".headers.") {
            let set = |v: &str| if v == ABSENT { ABSENT } else { "(set)" };
            (set(va).to_owned(), set(vb).to_owned())
        } else {
            (va.to_owned(), vb.to_owned())
        };
        push(kind, key.clone(), va, vb, Level::Breaks);
    }
    for name in env_value_drift {
        push(
            Kind::Env,
            format!("env.{name}"),
            "(value)".into(),
            "(another value)".into(),
            Level::Info,
        );
    }

    // What the machines run on, per process group.
    let groups_a = guests(&a.machines);
    let groups_b = guests(&b.machines);
    let groups: BTreeSet<&String> = groups_a.keys().chain(groups_b.keys()).collect();
    for group in groups {
        match (groups_a.get(group), groups_b.get(group)) {
            (Some(ga), Some(gb)) => {
                for field in ["cpu_kind", "cpus", "memory_mb"] {
                    let va = join_or_absent(&ga.iter().map(|g| g[field].clone()).collect());
                    let vb = join_or_absent(&gb.iter().map(|g| g[field].clone()).collect());
                    if va != vb {
                        push(
                            Kind::Vm,
                            format!("guest.{group}.{field}"),
                            va,
                            vb,
                            Level::Breaks,
                        );
                    }
                }
            }
            (ga, gb) => {
                let count = |g: Option<&BTreeSet<BTreeMap<&'static str, String>>>| {
                    g.map_or_else(|| ABSENT.to_owned(), |_| "machines".to_owned())
                };
                push(
                    Kind::Processes,
                    format!("machines.{group}"),
                    count(ga),
                    count(gb),
                    Level::Breaks,
                );
            }
        }
    }

    // Secret names.
    let names_a: BTreeSet<&String> = a.secrets.iter().collect();
    let names_b: BTreeSet<&String> = b.secrets.iter().collect();
    for name in names_a.symmetric_difference(&names_b) {
        let has = |set: &BTreeSet<&String>| if set.contains(name) { "set" } else { ABSENT };
        push(
            Kind::Secrets,
            format!("secrets.{name}"),
            has(&names_a).into(),
            has(&names_b).into(),
            Level::Breaks,
        );
    }
    out.sort_by(|x, y| (x.level, x.kind, &x.key).cmp(&(y.level, y.kind, &y.key)));
    out
}

/// A service only one environment has: the config says so, so the drift is allowed.
pub(crate) fn only_in(service: &str, env: &str, app: &str, first: bool) -> Drift {
    let (a, b) = if first {
        (app.to_owned(), ABSENT.to_owned())
    } else {
        (ABSENT.to_owned(), app.to_owned())
    };
    Drift {
        service: service.to_owned(),
        level: Level::Allowed,
        kind: Kind::Service,
        key: service.to_owned(),
        a,
        b,
        note: Some(format!("only {env} has this service (not compared)")),
    }
}

fn join_or_absent(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        ABSENT.to_owned()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Distinct guests per process group of the active machines.
fn guests(machines: &[MachineSpec]) -> BTreeMap<String, BTreeSet<BTreeMap<&'static str, String>>> {
    let mut out: BTreeMap<String, BTreeSet<BTreeMap<&'static str, String>>> = BTreeMap::new();
    for m in machines.iter().filter(|m| m.is_active()) {
        let g = BTreeMap::from([
            ("cpu_kind", m.guest.cpu_kind.clone()),
            ("cpus", m.guest.cpus.to_string()),
            ("memory_mb", m.guest.memory_mb.to_string()),
        ]);
        out.entry(m.process_group.clone()).or_default().insert(g);
    }
    out
}

/// The kind of drift a fly.toml path is.
fn kind_of(key: &str) -> Kind {
    let top = key.split(['.', '[']).next().unwrap_or_default();
    match top {
        "app" | "primary_region" => Kind::Name,
        "vm" => Kind::Vm,
        "deploy" => Kind::Deploy,
        "processes" => Kind::Processes,
        "mounts" => Kind::Mounts,
        "env" => Kind::Env,
        "checks" | "machine_checks" => Kind::Checks,
        "http_service" | "services" => {
            if key.contains("checks") {
                Kind::Checks
            } else {
                Kind::Services
            }
        }
        _ => Kind::Config,
    }
}

/// fly.toml JSON as leaf paths: `http_service.checks[0].path` -> `"/health"` (scalars as
/// JSON text, strings bare). An empty object or array is a leaf of its own.
pub(crate) fn flatten(v: &Value) -> BTreeMap<String, String> {
    fn walk(v: &Value, path: &str, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, v) in o {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), out);
                }
            }
            Value::String(s) => {
                out.insert(path.to_owned(), s.clone());
            }
            Value::Null => {}
            other => {
                out.insert(path.to_owned(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(v, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Guest;
    use serde_json::json;

    fn machine(group: &str, image: &str, digest: Option<&str>, memory: u64) -> MachineSpec {
        MachineSpec {
            id: format!("m-{group}-{memory}"),
            state: "started".into(),
            region: "iad".into(),
            process_group: group.into(),
            image: image.into(),
            digest: digest.map(str::to_owned),
            guest: Guest {
                cpu_kind: "shared".into(),
                cpus: 1,
                memory_mb: memory,
            },
        }
    }

    fn side(env: &str, app: &str) -> Side {
        Side {
            config: json!({
                "app": app, "primary_region": if env == "staging" { "iad" } else { "ams" },
                "deploy": {"strategy": "rolling", "release_command": "bin/migrate"},
                "env": {"NODE_ENV": env, "PORT": "3000"},
                "http_service": {"internal_port": 3000, "checks": [{"path": "/health", "headers": {"Authorization": "token-a"}}]},
            }),
            machines: vec![machine(
                "app",
                "registry.fly.io/web-staging:deployment-1",
                Some("sha256:aaa"),
                512,
            )],
            secrets: vec!["DATABASE_URL".into(), "SESSION_SECRET".into()],
        }
    }

    #[test]
    fn identical_environments_have_only_info() {
        let (a, b) = (
            side("staging", "web-staging"),
            side("production", "web-production"),
        );
        let drifts = compare("web", &a, &b, &Rules::default());
        assert!(drifts.iter().all(|d| d.level == Level::Info), "{drifts:#?}");
        let keys: Vec<&str> = drifts.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["env.NODE_ENV", "app", "primary_region"]);
        let env = drifts.iter().find(|d| d.key == "env.NODE_ENV").unwrap();
        assert_eq!(
            (env.a.as_str(), env.b.as_str()),
            ("(value)", "(another value)"),
            "env values are not shown"
        );
    }

    #[test]
    fn each_kind_of_drift_breaks_parity_unless_ignored() {
        let a = side("staging", "web-staging");
        let mut b = side("production", "web-production");
        b.config["deploy"]["strategy"] = json!("bluegreen");
        b.config["http_service"]["internal_port"] = json!(8080);
        b.config["http_service"]["checks"][0]["path"] = json!("/healthz");
        b.config["http_service"]["checks"][0]["headers"]["Authorization"] = json!("token-b");
        b.config["processes"] = json!({"worker": "bin/worker"});
        b.config["mounts"] = json!([{"source": "data", "destination": "/data"}]);
        b.config["env"]["FEATURE_X"] = json!("1");
        b.machines[0].guest.memory_mb = 1024;
        b.machines[0].digest = Some("sha256:bbb".into());
        b.machines.push(machine("worker", "w", None, 256));
        b.secrets.push("STRIPE_KEY".into());
        let drifts = compare("web", &a, &b, &Rules::default());
        let breaks: Vec<(&str, &str)> = drifts
            .iter()
            .filter(|d| d.level == Level::Breaks)
            .map(|d| (d.kind.name(), d.key.as_str()))
            .collect();
        assert_eq!(
            breaks,
            [
                ("image", "image"),
                ("vm", "guest.app.memory_mb"),
                ("services", "http_service.internal_port"),
                ("checks", "http_service.checks[0].headers.Authorization"),
                ("checks", "http_service.checks[0].path"),
                ("deploy", "deploy.strategy"),
                ("processes", "machines.worker"),
                ("processes", "processes.worker"),
                ("mounts", "mounts[0].destination"),
                ("mounts", "mounts[0].source"),
                ("env", "env.FEATURE_X"),
                ("secrets", "secrets.STRIPE_KEY"),
            ]
        );
        let text = format!("{drifts:?}");
        assert!(
            !text.contains("token-a") && !text.contains("token-b"),
            "{text}"
        );

        let rules = Rules {
            ignore: vec![
                "deploy".into(),
                "mounts".into(),
                "secrets.STRIPE_KEY".into(),
            ],
            allow_image_drift: true,
        };
        let drifts = compare("web", &a, &b, &rules);
        let allowed: Vec<&str> = drifts
            .iter()
            .filter(|d| d.level == Level::Allowed)
            .map(|d| d.key.as_str())
            .collect();
        assert_eq!(
            allowed,
            [
                "image",
                "deploy.strategy",
                "mounts[0].destination",
                "mounts[0].source",
                "secrets.STRIPE_KEY"
            ]
        );
        let strategy = drifts.iter().find(|d| d.key == "deploy.strategy").unwrap();
        assert_eq!(strategy.note.as_deref(), Some("parity.ignore: deploy"));
    }

    #[test]
    fn ignore_matches_whole_segments_only() {
        let rules = Rules {
            ignore: vec!["env.DEBUG".into()],
            allow_image_drift: false,
        };
        assert!(rules.ignored_by("env.DEBUG").is_some());
        assert!(rules.ignored_by("env.DEBUG_SQL").is_none());
        let rules = Rules {
            ignore: vec!["http_service.checks".into()],
            allow_image_drift: false,
        };
        assert!(rules.ignored_by("http_service.checks[0].path").is_some());
    }

    #[test]
    fn images_compare_by_digest_across_apps() {
        let a = side("staging", "web-staging");
        let mut b = side("production", "web-production");
        // Promoted: production runs staging's image under its own reference, same digest.
        b.machines[0].image = "registry.fly.io/web-production:deployment-9".into();
        assert!(
            compare("web", &a, &b, &Rules::default())
                .iter()
                .all(|d| d.kind != Kind::Image)
        );
        b.machines[0].digest = Some("sha256:bbb".into());
        assert!(
            compare("web", &a, &b, &Rules::default())
                .iter()
                .any(|d| d.kind == Kind::Image)
        );
        // Without a digest on one side, the references decide.
        b.machines[0].digest = None;
        assert!(
            compare("web", &a, &b, &Rules::default())
                .iter()
                .any(|d| d.kind == Kind::Image)
        );
        b.machines[0].image = "registry.fly.io/web-staging:deployment-1".into();
        assert!(
            compare("web", &a, &b, &Rules::default())
                .iter()
                .all(|d| d.kind != Kind::Image)
        );
    }
}
