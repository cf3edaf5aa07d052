//! shipit.yml: loading, `${VAR}` expansion, defaults merged into each app, and every check a
//! command relies on. After `load` returns, a command never meets a half-valid config.

pub mod canary;
mod cost;
pub mod crosscheck;
pub mod database;
mod deploy_args;
mod error;
pub mod flytoml;
pub mod gates;
pub mod monitor;
pub mod parity;
pub mod partial;
pub mod promote;
mod raw;
pub mod store;
mod target;

pub(crate) mod vars;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

pub use crate::scalar::Text;
pub use cost::{CostSettings, PriceOverrides};
pub use error::{ConfigError, closest};
pub use target::{check_membership, resolve};

use crate::event::Event;
use crate::platform::Strategy;
use crate::probe::condition::Condition;
use crate::probe::{HealthSpec, PathSource, RegressionSpec};
use raw::{RawChannel, RawConfig, RawHealth, RawRegression, RawSettings};

/// The file name shipit looks for when `--config` is not given.
pub const DEFAULT_FILE: &str = "shipit.yml";
/// Where shipit keeps its state (rollback targets, locks, receipts), next to the config.
pub const STATE_DIR: &str = ".shipit";

/// A loaded, fully validated configuration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Config {
    pub path: PathBuf,
    /// The folder the config is in; relative paths in it are relative to this.
    pub dir: PathBuf,
    pub environments: Vec<Environment>,
    pub notify: Vec<Channel>,
    pub evidence: EvidenceSettings,
    /// The optional pipeline gates (`config/gates.rs`).
    pub gates: gates::Gates,
    pub parity: parity::ParitySettings,
    pub promote: promote::PromoteSettings,
    /// `monitor:`: the escalation timings of `check` and `watch`.
    pub monitor: monitor::Policy,
    /// `metrics:`: Fly's Prometheus endpoint, when configured.
    pub metrics: Option<monitor::MetricsSpec>,
    /// Which backend keeps the record (`store:`).
    pub store: store::StoreSettings,
    pub cost: CostSettings,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Environment {
    pub name: String,
    /// In the file's order, which is the deploy order.
    pub services: Vec<Service>,
    /// The environment's `database:` block (`config/database.rs`).
    pub database: Option<database::Database>,
    /// `on_partial:` (`config/partial.rs`): what a failed service does to the ones before it.
    pub on_partial: partial::OnPartial,
}

/// One Fly app of one environment, with every setting resolved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Service {
    pub env: String,
    /// The short name under `apps:`.
    pub name: String,
    /// The Fly app name.
    pub app: String,
    /// Base URL probes and smoke checks use, without a trailing slash.
    pub url: Text,
    pub fly_config: Option<PathBuf>,
    pub image: Option<String>,
    pub strategy: Option<Strategy>,
    pub health: HealthSpec,
    pub regression: RegressionSpec,
    pub smoke: Option<PathBuf>,
    pub rollback: bool,
    #[serde(with = "crate::duration::text")]
    pub watch: Duration,
    /// shipit's own limit on one `flyctl deploy`, which has been seen to hang.
    #[serde(with = "crate::duration::text")]
    pub deploy_timeout: Duration,
    /// Passed to flyctl as `--wait-timeout` when set.
    #[serde(with = "crate::duration::opt_text")]
    pub wait_timeout: Option<Duration>,
    pub skip_release_command_on_rollback: bool,
    /// `canary:`, used when `strategy: canary`.
    pub canary: crate::canary::CanarySpec,
    /// `logs:`: the patterns `check` scans this app's logs for.
    pub logs: monitor::LogSpec,
    /// `deploy_args:` (`config/deploy_args.rs`): flyctl deploy flags passed through.
    pub deploy_args: crate::platform::deploy_args::DeployArgs,
}

impl Service {
    /// `staging/web (hotdash-staging)`.
    pub fn label(&self) -> String {
        format!("{}/{} ({})", self.env, self.name, self.app)
    }

    /// The URL of the health endpoint.
    pub fn health_url(&self) -> String {
        join_url(self.url.as_str(), &self.health.path)
    }
}

/// `base` + `path` with exactly one slash between them.
/// Why an `http(s)://` URL cannot be requested (`http://[::1` parses nowhere), in words that
/// never quote the URL: it may hold a secret.
pub fn http_url_problem(text: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(text).map_err(|e| e.to_string())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".into());
    }
    Ok(())
}

pub fn join_url(base: &str, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_owned();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Channel {
    pub kind: ChannelKind,
    /// The events this channel is told about; every event when `on:` is absent.
    pub on: Vec<Event>,
}

impl Channel {
    pub fn wants(&self, event: Event) -> bool {
        self.on.contains(&event)
    }

    pub fn name(&self) -> &'static str {
        match self.kind {
            ChannelKind::Slack { .. } => "slack",
            ChannelKind::Discord { .. } => "discord",
            ChannelKind::Teams { .. } => "teams",
            ChannelKind::PagerDuty { .. } => "pagerduty",
            ChannelKind::Webhook { .. } => "webhook",
            ChannelKind::GithubIssue { .. } => "github_issue",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChannelKind {
    Slack {
        webhook_url: Text,
    },
    Discord {
        webhook_url: Text,
    },
    Teams {
        webhook_url: Text,
    },
    PagerDuty {
        routing_key: Text,
        events_url: Text,
        change_url: Text,
    },
    Webhook {
        url: Text,
        secret: Option<Text>,
    },
    /// One issue per open alert; `None` fields come from the Actions environment when sending.
    GithubIssue {
        repository: Option<String>,
        api_url: Option<Text>,
        token: Option<Text>,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EvidenceSettings {
    /// The Markdown log every run appends to.
    pub log: PathBuf,
    /// The folder of JSON receipts, one per run.
    pub runs: PathBuf,
    /// Where rollback targets and locks live.
    pub state: PathBuf,
}

impl Config {
    /// Every service of every environment, in file order.
    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.environments.iter().flat_map(|e| e.services.iter())
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    pub fn state_dir(&self) -> &Path {
        &self.evidence.state
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let mut err = ConfigError::at(path, "", 0, 0, format!("cannot read the config file: {e}"));
        if e.kind() == std::io::ErrorKind::NotFound {
            err = err.hint(
                "run `shipit init` to write one, or pass --config FILE (or set SHIPIT_CONFIG)",
            );
        }
        err
    })?;
    parse(path, &text)
}

/// Validates config text as if it had been read from `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    vars::check(path, text, |name| std::env::var(name).ok())?;
    let raw: RawConfig =
        serde_saphyr::from_str(text).map_err(|e| ConfigError::from_yaml(path, text, &e))?;
    Loader {
        path,
        text,
        dir: path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    }
    .resolve(raw)
}

struct Loader<'a> {
    path: &'a Path,
    text: &'a str,
    dir: PathBuf,
}

impl Loader<'_> {
    fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> ConfigError {
        let l = at.referenced;
        ConfigError::at(self.path, self.text, l.line(), l.column(), message)
    }

    fn err_nowhere(&self, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.path, self.text, 0, 0, message)
    }

    fn resolve(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        if raw.version.value != 1 {
            return Err(self
                .err(
                    &raw.version,
                    format!("`version: {}` is not supported", raw.version.value),
                )
                .hint("this shipit reads `version: 1`"));
        }
        let defaults = raw.defaults.unwrap_or_default();
        let apps = raw.apps.unwrap_or_default();
        let Some(envs) = raw.environments else {
            return Err(self
                .err_nowhere("no `environments:` section: there is nothing to deploy")
                .hint("add e.g. `environments: { staging: { web: { app: my-app-staging, url: https://my-app-staging.fly.dev } } }`"));
        };
        if envs.value.is_empty() {
            return Err(self
                .err(
                    &envs,
                    "`environments:` is empty: there is nothing to deploy",
                )
                .hint("add at least one environment with one service"));
        }
        if let Some((name, v)) = apps
            .iter()
            .find_map(|(n, a)| a.value.on_partial.as_ref().map(|v| (n, v)))
        {
            return Err(partial::refuse_in_app(name, v, &|at, m| self.err(at, m)));
        }
        let mut environments = Vec::new();
        let mut seen_apps: Vec<(String, String)> = Vec::new();
        for (env_name, services) in envs.value.iter() {
            if services.value.is_empty() {
                return Err(self
                    .err(
                        services,
                        format!("environment `{env_name}` has no services"),
                    )
                    .hint("list the services to deploy, e.g. `web: { app: ..., url: ... }`"));
            }
            let mut resolved = Vec::new();
            for (svc_name, target) in services.value.iter() {
                let Some(settings) = apps.get(svc_name) else {
                    let known: Vec<&str> = apps.keys().collect();
                    let mut e = self.err(
                        target,
                        format!("environment `{env_name}` uses service `{svc_name}`, which is not defined under `apps:`"),
                    );
                    e = match closest(svc_name, known.iter().copied()) {
                        Some(best) => e.hint(format!("did you mean `{best}`?")),
                        None if known.is_empty() => {
                            e.hint(format!("add `apps: {{ {svc_name}: {{}} }}`"))
                        }
                        None => e.hint(format!("defined services: {}", known.join(", "))),
                    };
                    return Err(e);
                };
                let service =
                    self.service(env_name, svc_name, target, &defaults, &settings.value)?;
                let place = format!("{env_name}.{svc_name}");
                if let Some((_, other)) = seen_apps.iter().find(|(a, _)| *a == service.app) {
                    return Err(self
                        .err(
                            target,
                            format!(
                                "Fly app `{}` is used by both {other} and {place}",
                                service.app
                            ),
                        )
                        .hint("each service of each environment deploys its own Fly app"));
                }
                seen_apps.push((service.app.clone(), place));
                resolved.push(service);
            }
            let database = services
                .value
                .database
                .as_ref()
                .map(|d| self.database(env_name, d))
                .transpose()?;
            environments.push(Environment {
                name: env_name.to_owned(),
                services: resolved,
                database,
                on_partial: partial::resolve(
                    services.value.on_partial.as_ref(),
                    defaults.on_partial.as_ref(),
                    &|at, m| self.err(at, m),
                )?,
            });
        }
        let notify = raw
            .notify
            .unwrap_or_default()
            .into_iter()
            .map(|c| self.channel(c))
            .collect::<Result<_, _>>()?;
        let parity = parity::resolve(raw.parity, &|at, m| self.err(at, m))?;
        let promote = promote::resolve(raw.promote);
        let monitor = self.monitor(raw.monitor.as_ref())?;
        let metrics = self.metrics(raw.metrics)?;
        let store = store::resolve(self.path, self.text, raw.store)?;
        let cost = self.cost(raw.cost, &environments)?;
        let evidence = raw.evidence;
        let log = evidence
            .as_ref()
            .and_then(|e| e.log.clone())
            .unwrap_or_else(|| "feedback/deployment.md".into());
        let state = self.dir.join(STATE_DIR);
        let runs = evidence
            .as_ref()
            .and_then(|e| e.runs.clone())
            .map_or_else(|| state.join("runs"), |r| self.dir.join(r));
        Ok(Config {
            path: self.path.to_owned(),
            dir: self.dir.clone(),
            environments,
            notify,
            evidence: EvidenceSettings {
                log: self.dir.join(log),
                runs,
                state,
            },
            gates: gates::resolve(raw.gates.as_ref()),
            parity,
            promote,
            monitor,
            metrics,
            store,
            cost,
        })
    }

    fn service(
        &self,
        env: &str,
        name: &str,
        target: &Spanned<raw::RawTarget>,
        defaults: &RawSettings,
        app: &RawSettings,
    ) -> Result<Service, ConfigError> {
        let t = &target.value;
        let fly_app = t.app.as_ref().ok_or_else(|| {
            self.err(
                target,
                format!("`environments.{env}.{name}` has no `app:` (the Fly app name)"),
            )
            .hint(format!("add e.g. `app: myapp-{env}`"))
        })?;
        if fly_app.value.trim().is_empty() {
            return Err(self.err(fly_app, "`app:` is empty"));
        }
        let url = t.url.as_ref().ok_or_else(|| {
            self.err(
                target,
                format!(
                    "`environments.{env}.{name}` has no `url:`: shipit probes the app from outside"
                ),
            )
            .hint(format!("add e.g. `url: https://{}.fly.dev`", fly_app.value))
        })?;
        let url_text = url.value.as_str();
        if !(url_text.starts_with("http://") || url_text.starts_with("https://")) {
            return Err(self.err(
                url,
                format!("`url: {}` must start with http:// or https://", url.value),
            ));
        }
        if let Err(why) = http_url_problem(url_text) {
            return Err(self
                .err(url, format!("`url: {}` is not a valid URL: {why}", url.value))
                .hint("write it like https://my-app.fly.dev (an IPv6 host in brackets: http://[::1]:8080)"));
        }
        let url_value = Text::clone(&url.value);
        let fly_config = match &t.fly_config {
            Some(p) => {
                let full = self.dir.join(&p.value);
                if !full.is_file() {
                    return Err(self
                        .err(p, format!("fly_config `{}` does not exist (looked for {})", p.value, full.display()))
                        .hint("fix the path (it is relative to shipit.yml's folder), or run `shipit init` to write an example"));
                }
                let parsed = flytoml::read(&full).map_err(|e| {
                    self.err(p, format!("fly_config `{}` cannot be read: {e:#}", p.value))
                })?;
                Some((full, parsed))
            }
            None => None,
        };
        let health = self.health(
            defaults.health.as_ref(),
            app.health.as_ref(),
            fly_config.as_ref().and_then(|(_, f)| f.health_path.clone()),
        )?;
        let regression = self.regression(defaults.regression.as_ref(), app.regression.as_ref())?;
        let logs = self.logs(defaults.logs.as_ref(), app.logs.as_ref())?;
        let pick = |f: fn(&RawSettings) -> Option<&Spanned<String>>| f(app).or_else(|| f(defaults));
        let strategy = match pick(|s| s.strategy.as_ref()) {
            Some(s) => match Strategy::parse(&s.value) {
                Some(strategy) => Some(strategy),
                None => {
                    return Err(self
                        .err(s, format!("unknown strategy `{}`", s.value))
                        .hint(format!("use one of {}", Strategy::names())));
                }
            },
            None => None,
        };
        let rollback = match pick(|s| s.rollback.as_ref()) {
            None => true,
            Some(r) if r.value == "auto" => true,
            Some(r) if r.value == "off" => false,
            Some(r) => {
                return Err(self
                    .err(r, format!("`rollback: {}` is not valid", r.value))
                    .hint("use `auto` or `off`"));
            }
        };
        let smoke = match pick(|s| s.smoke.as_ref()) {
            Some(p) => {
                let full = self.dir.join(&p.value);
                if !full.is_file() {
                    return Err(self
                        .err(
                            p,
                            format!(
                                "smoke suite `{}` does not exist (looked for {})",
                                p.value,
                                full.display()
                            ),
                        )
                        .hint(
                            "fix the path (relative to shipit.yml's folder) or remove `smoke:`",
                        ));
                }
                Some(full)
            }
            None => None,
        };
        Ok(Service {
            env: env.to_owned(),
            name: name.to_owned(),
            app: fly_app.value.clone(),
            url: url_value,
            fly_config: fly_config.map(|(p, _)| p),
            image: t.image.clone(),
            strategy,
            health,
            regression,
            smoke,
            rollback,
            watch: app.watch.or(defaults.watch).map_or(Duration::ZERO, |d| d.0),
            deploy_timeout: app
                .deploy_timeout
                .or(defaults.deploy_timeout)
                .map_or(Duration::from_secs(20 * 60), |d| d.0),
            wait_timeout: app.wait_timeout.or(defaults.wait_timeout).map(|d| d.0),
            skip_release_command_on_rollback: app
                .skip_release_command_on_rollback
                .or(defaults.skip_release_command_on_rollback)
                .unwrap_or(false),
            canary: canary::resolve(self, defaults.canary.as_ref(), app.canary.as_ref())?,
            logs,
            deploy_args: deploy_args::resolve(
                name,
                defaults.deploy_args.as_ref(),
                app.deploy_args.as_ref(),
                &|at, m| self.err(at, m),
            )?,
        })
    }

    fn health(
        &self,
        d: Option<&RawHealth>,
        a: Option<&RawHealth>,
        fly_path: Option<String>,
    ) -> Result<HealthSpec, ConfigError> {
        fn get<'r, T>(
            d: Option<&'r RawHealth>,
            a: Option<&'r RawHealth>,
            f: impl Fn(&'r RawHealth) -> Option<T>,
        ) -> Option<T> {
            a.and_then(&f).or_else(|| d.and_then(&f))
        }
        let (path, path_source) = match get(d, a, |h| h.path.as_ref()) {
            Some(p) => {
                if !p.value.starts_with('/') {
                    return Err(
                        self.err(p, format!("health path `{}` must start with `/`", p.value))
                    );
                }
                (p.value.clone(), PathSource::Config)
            }
            None => match fly_path {
                Some(p) => (p, PathSource::FlyToml),
                None => ("/health".to_owned(), PathSource::Default),
            },
        };
        let count =
            |v: Option<&Spanned<i64>>, key: &str, default: u32| -> Result<u32, ConfigError> {
                match v {
                    None => Ok(default),
                    Some(n) if n.value < 1 || n.value > 1000 => Err(self
                        .err(
                            n,
                            format!("`health.{key}: {}` must be between 1 and 1000", n.value),
                        )
                        .hint(format!("it counts consecutive probes, e.g. `{key}: 3`"))),
                    Some(n) => Ok(n.value as u32),
                }
            };
        let healthy_after = count(get(d, a, |h| h.healthy_after.as_ref()), "healthy_after", 3)?;
        let unhealthy_after = count(
            get(d, a, |h| h.unhealthy_after.as_ref()),
            "unhealthy_after",
            3,
        )?;
        let interval = get(d, a, |h| h.interval).map_or(Duration::from_secs(2), |x| x.0);
        let timeout = get(d, a, |h| h.timeout).map_or(Duration::from_secs(5), |x| x.0);
        let deadline = get(d, a, |h| h.deadline).map_or(Duration::from_secs(300), |x| x.0);
        if interval.is_zero() || timeout.is_zero() || deadline.is_zero() {
            return Err(self
                .err_nowhere("`health.interval`, `health.timeout` and `health.deadline` must be more than 0s")
                .hint("e.g. interval: 2s, timeout: 5s, deadline: 5m"));
        }
        if deadline < interval {
            return Err(self.err_nowhere(format!(
                "`health.deadline` ({}) is shorter than `health.interval` ({}): the gate could never open",
                crate::duration::format(deadline),
                crate::duration::format(interval)
            )));
        }
        let expect = match get(d, a, |h| h.expect.as_ref()) {
            Some(list) => {
                let mut out = Vec::new();
                for c in list {
                    out.push(self.condition(c)?);
                }
                out
            }
            None => {
                vec![Condition::parse("[STATUS] == 200").expect("the default condition parses")]
            }
        };
        let headers = get(d, a, |h| h.headers.as_ref())
            .map(|h| h.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(HealthSpec {
            path,
            path_source,
            interval,
            timeout,
            healthy_after,
            unhealthy_after,
            deadline,
            expect,
            headers,
        })
    }

    /// An environment's `database:` block, resolved in `config/database.rs`.
    fn database(
        &self,
        env: &str,
        raw: &Spanned<database::RawDatabase>,
    ) -> Result<database::Database, ConfigError> {
        database::resolve(
            self.path,
            self.text,
            &self.dir,
            env,
            raw,
            database::LINT_NAMES,
        )
    }

    /// Parses one condition, pointing at the bad part of it when it does not parse.
    pub(crate) fn condition(&self, c: &Spanned<String>) -> Result<Condition, ConfigError> {
        spanned_condition(self.path, self.text, c)
    }

    fn regression(
        &self,
        d: Option<&RawRegression>,
        a: Option<&RawRegression>,
    ) -> Result<RegressionSpec, ConfigError> {
        fn get<'r, T>(
            d: Option<&'r RawRegression>,
            a: Option<&'r RawRegression>,
            f: impl Fn(&'r RawRegression) -> Option<T>,
        ) -> Option<T> {
            a.and_then(&f).or_else(|| d.and_then(&f))
        }
        let probes = match get(d, a, |r| r.probes.as_ref()) {
            None => 10,
            Some(n) if n.value < 1 || n.value > 10_000 => {
                return Err(self.err(
                    n,
                    format!(
                        "`regression.probes: {}` must be between 1 and 10000",
                        n.value
                    ),
                ));
            }
            Some(n) => n.value as u32,
        };
        let p95_ratio = match get(d, a, |r| r.p95_ratio.as_ref()) {
            Some(r) if !(r.value >= 1.0 && r.value.is_finite()) => {
                return Err(self
                    .err(
                        r,
                        format!("`regression.p95_ratio: {}` must be 1 or more", r.value),
                    )
                    .hint(
                        "1.5 lets the new release's p95 latency be at most 1.5 × the baseline's",
                    ));
            }
            r => r.map(|r| r.value),
        };
        let max_error_rate = match get(d, a, |r| r.max_error_rate.as_ref()) {
            Some(r) if !(0.0..=1.0).contains(&r.value) => {
                return Err(self
                    .err(
                        r,
                        format!(
                            "`regression.max_error_rate: {}` must be between 0 and 1",
                            r.value
                        ),
                    )
                    .hint("0.05 allows 5% of the sample's probes to fail"));
            }
            r => r.map_or(0.0, |r| r.value),
        };
        let p95_slack = get(d, a, |r| r.p95_slack).map_or(Duration::from_millis(100), |x| x.0);
        Ok(RegressionSpec {
            probes,
            p95_ratio,
            p95_slack,
            max_error_rate,
        })
    }

    fn channel(&self, c: Spanned<RawChannel>) -> Result<Channel, ConfigError> {
        let on_list = |on: Option<&Vec<Spanned<String>>>| -> Result<Vec<Event>, ConfigError> {
            let Some(list) = on else {
                return Ok(Event::ALL.to_vec());
            };
            let mut events = Vec::new();
            for name in list {
                let Some(found) = Event::from_filter_name(&name.value) else {
                    let names = Event::filter_names();
                    let mut e = self.err(name, format!("unknown event `{}` in `on:`", name.value));
                    e = match closest(&name.value, names.iter().copied()) {
                        Some(best) => e.hint(format!("did you mean `{best}`?")),
                        None => e.hint(format!("use any of {}", names.join(", "))),
                    };
                    return Err(e);
                };
                for ev in found {
                    if !events.contains(&ev) {
                        events.push(ev);
                    }
                }
            }
            Ok(events)
        };
        let check_url = |u: &Spanned<Text>, key: &str| -> Result<Text, ConfigError> {
            let s = u.value.as_str();
            if let Err(why) = http_url_problem(s)
                && (s.starts_with("http://") || s.starts_with("https://"))
            {
                Err(self.err(u, format!("`{key}` is not a valid URL: {why}")))
            } else if s.starts_with("http://") || s.starts_with("https://") {
                Ok(u.value.clone())
            } else {
                Err(self.err(
                    u,
                    format!(
                        "`{key}` must be an http:// or https:// URL, not `{}`",
                        u.value
                    ),
                ))
            }
        };
        let (kind, on) = match c.value {
            RawChannel::Slack(s) => (
                ChannelKind::Slack {
                    webhook_url: check_url(&s.webhook_url, "webhook_url")?,
                },
                on_list(s.on.as_ref())?,
            ),
            RawChannel::Discord(s) => (
                ChannelKind::Discord {
                    webhook_url: check_url(&s.webhook_url, "webhook_url")?,
                },
                on_list(s.on.as_ref())?,
            ),
            RawChannel::Teams(s) => (
                ChannelKind::Teams {
                    webhook_url: check_url(&s.webhook_url, "webhook_url")?,
                },
                on_list(s.on.as_ref())?,
            ),
            RawChannel::Pagerduty(p) => {
                if p.routing_key.value.as_str().is_empty() {
                    return Err(self.err(&p.routing_key, "`routing_key` is empty"));
                }
                let kind = ChannelKind::PagerDuty {
                    routing_key: p.routing_key.value,
                    events_url: p.events_url.unwrap_or_else(|| {
                        Text::literal("https://events.pagerduty.com/v2/enqueue")
                    }),
                    change_url: p.change_url.unwrap_or_else(|| {
                        Text::literal("https://events.pagerduty.com/v2/change/enqueue")
                    }),
                };
                (kind, on_list(p.on.as_ref())?)
            }
            RawChannel::Webhook(w) => (
                ChannelKind::Webhook {
                    url: check_url(&w.url, "url")?,
                    secret: w.secret,
                },
                on_list(w.on.as_ref())?,
            ),
            RawChannel::GithubIssue(g) => {
                if let Some(r) = &g.repository
                    && (r.value.split('/').count() != 2 || r.value.split('/').any(str::is_empty))
                {
                    return Err(self
                        .err(r, format!("`repository: {}` is not `owner/name`", r.value))
                        .hint("leave it out under GitHub Actions: GITHUB_REPOSITORY is used"));
                }
                let on = match &g.on {
                    None => vec![Event::Alert, Event::Resolved],
                    Some(list) => {
                        let events = on_list(Some(list))?;
                        if let Some(bad) = events
                            .iter()
                            .find(|e| !matches!(e, Event::Alert | Event::Resolved))
                        {
                            return Err(self
                                .err(&list[0], format!("`github_issue` opens issues for alerts only, not for `{bad}`"))
                                .hint("use `on: [alert, resolved]` (the default)"));
                        }
                        events
                    }
                };
                (
                    ChannelKind::GithubIssue {
                        repository: g.repository.map(|r| r.value),
                        api_url: g.api_url,
                        token: g.token,
                    },
                    on,
                )
            }
        };
        Ok(Channel { kind, on })
    }
}

/// Parses a condition written at `c` in `file` (whose text is `text`), pointing at the bad part
/// of it when it does not parse. Shared by shipit.yml and smoke suite files.
pub(crate) fn spanned_condition(
    file: &Path,
    text: &str,
    c: &Spanned<String>,
) -> Result<Condition, ConfigError> {
    Condition::parse(&c.value).map_err(|e| {
        let at = c.referenced;
        ConfigError::at(
            file,
            text,
            at.line(),
            at.column(),
            format!("condition `{}` does not parse: {}", c.value, e.message),
        )
        .hint(format!("{}\n      {}^ here", c.value, " ".repeat(e.offset)))
    })
}
