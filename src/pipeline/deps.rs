//! What the pipeline runs on, bundled in one [`Deps`] value: the platform, the prober, the clock,
//! the printer, the stop signal, the rollback target's state, step outputs and log groups.
//!
//! The seams are trait objects, so a new one (the record, the database) is one field here and one
//! line where `Deps` is built, never a new generic parameter on every stage. The platform, prober
//! and clock traits use `async fn` (static dispatch, simple to implement); the `*Seam` traits
//! below are their object-safe mirrors, implemented for every implementation of the originals.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use crate::baseline::Baseline;
use crate::platform::{
    AppStatus, DeployOutcome, DeployRequest, OutputLine, Platform, PlatformError, Release,
};
use crate::printer::Printer;
use crate::probe::{Clock, ProbeResult, ProbeSpec, Prober};
use crate::stop::Stop;

/// A boxed future borrowing from its caller: what the object-safe seams return.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Publishes a GitHub step output (`key`, `value`); a no-op outside Actions.
pub type OutputFn<'a> = Box<dyn Fn(&str, &str) + 'a>;
/// Opens (`Some(title)`) or closes (`None`) a log group around flyctl's output.
pub type GroupFn<'a> = Box<dyn Fn(Option<&str>) + 'a>;

/// What the pipeline runs on.
pub struct Deps<'a> {
    pub platform: &'a dyn PlatformSeam,
    pub prober: &'a dyn ProberSeam,
    pub clock: &'a dyn ClockSeam,
    pub printer: &'a Printer,
    /// Fires on SIGINT/SIGTERM.
    pub stop: &'a Stop,
    /// Where the rollback target is written before the deploy call.
    pub state: Box<dyn TargetState + 'a>,
    /// How often the fleet is looked at while flyctl deploys (the crashed-machine fast path).
    pub fleet_poll: Duration,
    /// Called with (key, value) for GitHub step outputs; a no-op outside Actions.
    pub output: OutputFn<'a>,
    /// Wraps flyctl's streamed output in a log group under Actions.
    pub group: GroupFn<'a>,
    /// The database stages' seam: the migration lint and `db verify` (`crate::db`).
    pub database: Box<dyn DatabaseSeam + 'a>,
    /// Fly's Prometheus endpoint, when `metrics:` is configured (the regression gate's 5xx
    /// comparison, the watch stage's metric findings).
    pub metrics: Option<&'a dyn crate::metrics::MetricsSource>,
}

/// The platform operations the pipeline uses, object-safe. Every [`Platform`] is one.
pub trait PlatformSeam {
    fn name(&self) -> &str;
    fn has_token(&self) -> bool;
    fn status<'a>(&'a self, app: &'a str) -> Fut<'a, Result<AppStatus, PlatformError>>;
    fn releases<'a>(&'a self, app: &'a str) -> Fut<'a, Result<Vec<Release>, PlatformError>>;
    /// Recent logs (`logs --no-tail`), for the watch window's findings.
    fn logs<'a>(
        &'a self,
        app: &'a str,
        wait: Duration,
    ) -> Fut<'a, Result<Vec<crate::platform::LogEntry>, PlatformError>>;
    fn deploy<'a>(
        &'a self,
        req: &'a DeployRequest,
        on_line: &'a mut dyn FnMut(OutputLine<'_>),
        stop: &'a Stop,
    ) -> Fut<'a, DeployOutcome>;
}

impl<P: Platform> PlatformSeam for P {
    fn name(&self) -> &str {
        Platform::name(self)
    }
    fn has_token(&self) -> bool {
        Platform::has_token(self)
    }
    fn status<'a>(&'a self, app: &'a str) -> Fut<'a, Result<AppStatus, PlatformError>> {
        Box::pin(Platform::status(self, app))
    }
    fn releases<'a>(&'a self, app: &'a str) -> Fut<'a, Result<Vec<Release>, PlatformError>> {
        Box::pin(Platform::releases(self, app))
    }
    fn logs<'a>(
        &'a self,
        app: &'a str,
        wait: Duration,
    ) -> Fut<'a, Result<Vec<crate::platform::LogEntry>, PlatformError>> {
        Box::pin(Platform::logs(self, app, wait))
    }
    fn deploy<'a>(
        &'a self,
        req: &'a DeployRequest,
        on_line: &'a mut dyn FnMut(OutputLine<'_>),
        stop: &'a Stop,
    ) -> Fut<'a, DeployOutcome> {
        Box::pin(Platform::deploy(self, req, on_line, stop))
    }
}

/// [`Prober`], object-safe. Every prober is one, and `dyn ProberSeam` is a [`Prober`] again, so
/// the gates and the smoke runner take it as they take any prober.
pub trait ProberSeam {
    fn probe_boxed<'a>(&'a self, spec: &'a ProbeSpec) -> Fut<'a, ProbeResult>;
}

impl<P: Prober> ProberSeam for P {
    fn probe_boxed<'a>(&'a self, spec: &'a ProbeSpec) -> Fut<'a, ProbeResult> {
        Box::pin(Prober::probe(self, spec))
    }
}

impl Prober for dyn ProberSeam + '_ {
    async fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        self.probe_boxed(spec).await
    }
}

/// [`Clock`], object-safe; `dyn ClockSeam` is a [`Clock`] again.
pub trait ClockSeam {
    fn now_offset(&self) -> Duration;
    fn sleep_boxed(&self, d: Duration) -> Fut<'_, ()>;
}

impl<C: Clock> ClockSeam for C {
    fn now_offset(&self) -> Duration {
        Clock::now(self)
    }
    fn sleep_boxed(&self, d: Duration) -> Fut<'_, ()> {
        Box::pin(Clock::sleep(self, d))
    }
}

impl Clock for dyn ClockSeam + '_ {
    fn now(&self) -> Duration {
        self.now_offset()
    }
    async fn sleep(&self, d: Duration) {
        self.sleep_boxed(d).await;
    }
}

/// Where the rollback target goes before the first remote change. Today a file under the state
/// folder ([`StateDir`]); the record (`store::Store::put_target`) can back it instead.
pub trait TargetState {
    /// Writes the target whole; returns where it went, for the log and the record.
    fn put_target<'a>(&'a self, baseline: &'a Baseline) -> Fut<'a, anyhow::Result<String>>;
}

/// The rollback target as `<state_dir>/baseline/<app>.json` (`Baseline::write`).
pub struct StateDir(pub PathBuf);

impl TargetState for StateDir {
    fn put_target<'a>(&'a self, baseline: &'a Baseline) -> Fut<'a, anyhow::Result<String>> {
        Box::pin(async move { Ok(baseline.write(&self.0)?.display().to_string()) })
    }
}

/// The pipeline's rollback-target seam backed by a `git`/`postgres` record: the local file first
/// (it must exist before the first remote change, whatever the record's state), then the record.
/// A record that cannot be written is noted in the returned text, never a refusal: the record is
/// not a gate.
pub struct RecordTarget<'a> {
    pub local: StateDir,
    pub store: &'a dyn crate::store::Store,
}

impl TargetState for RecordTarget<'_> {
    fn put_target<'a>(&'a self, baseline: &'a Baseline) -> Fut<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let path = self.local.put_target(baseline).await?;
            let value = serde_json::to_value(baseline)?;
            Ok(match self.store.put_target(&baseline.app, &value).await {
                Ok(()) => format!("{path} and {}", self.store.describe()),
                Err(e) => format!(
                    "{path}; not in {}: {}",
                    self.store.describe(),
                    crate::secret::redact(&format!("{e:#}"))
                ),
            })
        })
    }
}

/// What the database stages ask of the database: lint the new migrations, verify the schema.
pub trait DatabaseSeam {
    fn lint_migrations<'a>(
        &'a self,
        db: &'a crate::config::database::Database,
        env: &'a str,
        stop: &'a Stop,
    ) -> Fut<'a, anyhow::Result<crate::db::migrations::Outcome>>;
    fn verify<'a>(
        &'a self,
        db: &'a crate::config::database::Database,
        what: &'a str,
    ) -> Fut<'a, anyhow::Result<crate::db::Verification>>;
}

/// The real database: `crate::db` over `crate::pg`; `config_dir` is where a `.squawk.toml` is.
pub struct LiveDatabase {
    pub config_dir: PathBuf,
}

impl DatabaseSeam for LiveDatabase {
    fn lint_migrations<'a>(
        &'a self,
        db: &'a crate::config::database::Database,
        env: &'a str,
        stop: &'a Stop,
    ) -> Fut<'a, anyhow::Result<crate::db::migrations::Outcome>> {
        Box::pin(crate::db::migrations::lint(db, env, &self.config_dir, stop))
    }
    fn verify<'a>(
        &'a self,
        db: &'a crate::config::database::Database,
        what: &'a str,
    ) -> Fut<'a, anyhow::Result<crate::db::Verification>> {
        Box::pin(crate::db::verify(db, what))
    }
}
