//! `shipit demo`'s world: an in-process Fly platform and a real HTTP server on 127.0.0.1 that
//! serves whatever release the platform last deployed. The pipeline that runs against it is the
//! same code as a real deploy; only the platform differs.

mod server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use server::DemoServer;

use crate::platform::{
    AppStatus, DeployOutcome, DeployRequest, ErrorKind, LogEntry, Machine, OutputLine, Platform,
    PlatformError, Release, ReleaseLine, SecretInfo,
};
use crate::stop::Stop;

/// The demo app's name, as Fly would know it.
pub(crate) const APP: &str = "shipit-demo";

/// What the demo platform knows: releases and machines of one app.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub releases: Vec<Release>,
    pub machines: Vec<Machine>,
}

impl World {
    /// The image the machines run now (what the server serves).
    pub(crate) fn live_image(&self) -> Option<String> {
        self.machines
            .first()
            .map(|m| m.image.clone())
            .filter(|i| !i.is_empty())
    }
}

/// A Fly platform that lives in memory. Deploys stream flyctl-like lines and move the
/// machines to the new image; images whose tag ends in `-broken` answer 500 on /health.
#[derive(Clone, Default)]
pub(crate) struct DemoPlatform {
    pub world: Arc<Mutex<World>>,
}

impl DemoPlatform {
    pub(crate) fn new() -> DemoPlatform {
        let machines = [("3d8d9e0f1a2b3c", "iad"), ("148ed193b95089", "ams")]
            .into_iter()
            .map(|(id, region)| Machine {
                id: id.into(),
                name: format!("demo-{region}"),
                state: "stopped".into(),
                region: region.into(),
                image: String::new(),
                release_version: None,
                process_group: Some("app".into()),
                host_status: "ok".into(),
                checks: Vec::new(),
                events: Vec::new(),
            })
            .collect();
        DemoPlatform {
            world: Arc::new(Mutex::new(World {
                releases: Vec::new(),
                machines,
            })),
        }
    }

    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn not_found(app: &str, command: &str) -> PlatformError {
        PlatformError {
            kind: ErrorKind::AppNotFound,
            command: command.into(),
            message: format!("Could not find App \"{app}\""),
        }
    }
}

impl Platform for DemoPlatform {
    fn name(&self) -> &'static str {
        "demo platform"
    }

    fn has_token(&self) -> bool {
        true
    }

    async fn status(&self, app: &str) -> Result<AppStatus, PlatformError> {
        if app != APP {
            return Err(Self::not_found(app, "status"));
        }
        let w = self.world();
        Ok(AppStatus {
            app: APP.into(),
            version: w
                .releases
                .iter()
                .filter(|r| r.status == "complete")
                .map(|r| r.version)
                .max()
                .unwrap_or(0),
            status: "deployed".into(),
            hostname: "127.0.0.1".into(),
            machines: w.machines.clone(),
        })
    }

    async fn releases(&self, app: &str) -> Result<Vec<Release>, PlatformError> {
        if app != APP {
            return Err(Self::not_found(app, "releases"));
        }
        let mut r = self.world().releases.clone();
        r.sort_by_key(|r| std::cmp::Reverse(r.version));
        Ok(r)
    }

    async fn secrets(&self, _app: &str) -> Result<Vec<SecretInfo>, PlatformError> {
        Ok(Vec::new())
    }

    async fn logs(&self, _app: &str, _wait: Duration) -> Result<Vec<LogEntry>, PlatformError> {
        Ok(Vec::new())
    }

    fn deploy_argv(&self, req: &DeployRequest) -> Vec<String> {
        crate::platform::flyctl_deploy_argv(req)
    }

    async fn deploy(
        &self,
        req: &DeployRequest,
        on_line: &mut dyn FnMut(OutputLine<'_>),
        stop: &Stop,
    ) -> DeployOutcome {
        let argv = self.deploy_argv(req);
        let image = req
            .image
            .clone()
            .unwrap_or_else(|| format!("registry.fly.io/{APP}:deployment-demo"));
        let version = self
            .world()
            .releases
            .iter()
            .map(|r| r.version)
            .max()
            .unwrap_or(0)
            + 1;
        let started = std::time::Instant::now();
        let mut lines = vec![
            format!("==> Verifying app config"),
            format!("Searching for image '{image}' remotely..."),
            format!("image found: img_demo{version}"),
            format!("Watch your deployment at https://fly.io/apps/{APP}/monitoring"),
            format!("Updating existing machines in '{APP}' with rolling strategy"),
        ];
        let ids: Vec<String> = self.world().machines.iter().map(|m| m.id.clone()).collect();
        for id in &ids {
            lines.push(format!("  Updating machine {id}"));
        }
        self.world().releases.push(Release {
            version,
            status: "running".into(),
            in_progress: true,
            image: image.clone(),
            created_at: crate::timefmt::now(),
            description: "Deploy image".into(),
            user: "demo@localhost".into(),
        });
        for line in &lines {
            tokio::select! {
                () = stop.stopped() => {
                    self.finish_release(version, "interrupted");
                    return DeployOutcome { argv, exit_code: Some(127), release: None, error: None, timed_out: false, stopped: true, elapsed: started.elapsed() };
                }
                () = tokio::time::sleep(Duration::from_millis(60)) => on_line(OutputLine::Stdout(line)),
            }
        }
        {
            let mut w = self.world();
            for m in &mut w.machines {
                m.image.clone_from(&image);
                m.release_version = Some(version);
                m.state = "started".into();
                // The demo app's fly.toml has no checks (a common setup), so flyctl has nothing
                // to wait for and reports success whatever the app does: the outside probe is
                // what catches a bad release.
                m.checks.clear();
            }
        }
        self.finish_release(version, "complete");
        for id in &ids {
            on_line(OutputLine::Stdout(&format!(
                "  Machine {id} update finished: success"
            )));
        }
        on_line(OutputLine::Stdout(&format!(
            "Visit your newly deployed app at http://127.0.0.1/ ({APP})"
        )));
        DeployOutcome {
            argv,
            exit_code: Some(0),
            release: Some(ReleaseLine {
                id: format!("rel_demo{version}"),
                version,
                image_ref: image,
            }),
            error: None,
            timed_out: false,
            stopped: false,
            elapsed: started.elapsed(),
        }
    }
}

impl DemoPlatform {
    fn finish_release(&self, version: u64, status: &str) {
        if let Some(r) = self
            .world()
            .releases
            .iter_mut()
            .find(|r| r.version == version)
        {
            r.status = status.into();
            r.in_progress = false;
        }
    }
}
