//! `flyctl deploy`: validates like flyctl, then acts out the next scripted outcome against the
//! state, streaming progress lines the way a real deploy does.
//!
//! The state is written at each step (release created `running`, each machine updated), never
//! held locked across a sleep, so a concurrent `status --json` sees a rolling update half done,
//! exactly what shipit's own health gate has to cope with.

use std::collections::BTreeMap;

use crate::context::{AppConfig, Ctx, env, is_truthy};
use crate::gojson::{J, obj};
use crate::ids::{self, Rng};
use crate::state::{Check, DeployScript, Machine, Release, State};
use crate::{Failure, clock, output, signals};

/// Pause between progress lines, so callers can observe output arriving line by line.
const LINE_DELAY_MS: u64 = 25;
const STRATEGIES: [&str; 4] = ["canary", "rolling", "immediate", "bluegreen"];
const OUTCOMES: [&str; 8] = [
    "ok",
    "unchanged",
    "fail_health",
    "crash",
    "fail_but_healthy",
    "release_command",
    "image_not_found",
    "hang",
];

pub fn run(ctx: &Ctx) -> Result<(), Failure> {
    signals::install();
    let state = ctx.store.load()?;
    ctx.require_session(&state)?;
    let positionals = &ctx.flags.positionals;
    if positionals.len() > 1 {
        return Err(Failure::new(format!(
            "accepts at most 1 arg(s), received {}",
            positionals.len()
        )));
    }
    // ChangeWorkingDirectoryToFirstArgIfPresent runs before fly.toml is looked up.
    let workdir = match positionals.first() {
        Some(dir) => {
            let abs = ctx.cwd.join(dir);
            if !abs.is_dir() {
                let why = if abs.exists() {
                    "not a directory"
                } else {
                    "no such file or directory"
                };
                return Err(Failure::new(format!(
                    "failed changing working directory: chdir {}: {why}",
                    abs.display()
                )));
            }
            abs
        }
        None => ctx.cwd.clone(),
    };
    let config = ctx.load_app_config(&workdir)?.unwrap_or_default();
    let app = ctx.require_app_name(Some(&config))?;
    let Some(current) = state.apps.get(&app) else {
        return Err(Failure::new(format!(
            "the app name {app} could not be found, did you create the app or misspell it in the fly.toml file or via -a?"
        )));
    };
    for flag in ["wait-timeout", "release-command-timeout", "lease-timeout"] {
        if let Some(value) = ctx.flags.get(flag) {
            validate_duration(flag, value)?;
        }
    }
    let strategy = ctx
        .flags
        .non_empty("strategy")
        .map(str::to_owned)
        .or_else(|| config.strategy.clone())
        .unwrap_or_else(|| "rolling".to_owned());
    if !STRATEGIES.contains(&strategy.as_str()) {
        return Err(Failure::new(format!(
            "unsupported deployment strategy '{strategy}'; Apps v2 supports the following strategies: canary, rolling, immediate, bluegreen"
        )));
    }
    let script = ctx.store.update(next_outcome)??;
    let mut rng = Rng::fresh();
    let (image, digest, labels) = match ctx.flags.non_empty("image") {
        Some(image) => {
            // A pre-built image keeps the digest and labels it already has on any machine.
            let known = current.machines.iter().find(|m| m.image == image);
            (
                image.to_owned(),
                known.and_then(|m| m.digest.clone()),
                known.and_then(|m| m.labels.clone()),
            )
        }
        None => {
            let label = ctx.flags.non_empty("image-label").map_or_else(
                || format!("deployment-{}", ids::ulid(clock::now_ms(), &mut rng)),
                str::to_owned,
            );
            (
                format!("registry.fly.io/{app}:{label}"),
                None,
                build_labels(ctx),
            )
        }
    };
    let mut deploy = Deploy {
        ctx,
        app,
        strategy,
        config,
        script,
        image,
        digest,
        labels,
        rng,
        release: None,
        malformed_json: state.is_malformed("deploy"),
    };
    deploy.execute()
}

/// Pops the next scripted outcome, refusing (without popping) one the double does not know.
fn next_outcome(state: &mut State) -> Result<DeployScript, Failure> {
    let Some(queue) = state.deploys.as_mut().filter(|q| !q.is_empty()) else {
        return Ok(DeployScript::default());
    };
    let outcome = queue[0].outcome.clone();
    if !OUTCOMES.contains(&outcome.as_str()) {
        return Err(Failure::new(format!(
            "flyctl-double: unknown deploy outcome '{outcome}' (known: {})",
            OUTCOMES.join(", ")
        )));
    }
    Ok(queue.remove(0))
}

/// Labels flyctl adds to images it builds in GitHub Actions, plus `--label K=V`.
fn build_labels(ctx: &Ctx) -> Option<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    if env("GITHUB_ACTIONS").is_some_and(|v| is_truthy(&v)) {
        for (label, var) in [
            ("GH_SHA", "GITHUB_SHA"),
            ("GH_ACTION_NAME", "GITHUB_ACTION"),
            ("GH_REPO", "GITHUB_REPOSITORY"),
            ("GH_EVENT_NAME", "GITHUB_EVENT_NAME"),
        ] {
            if let Some(value) = env(var) {
                labels.insert(label.to_owned(), value);
            }
        }
    }
    if let Some(value) = ctx.flags.get("label")
        && let Some((k, v)) = value.split_once('=')
    {
        labels.insert(k.to_owned(), v.to_owned());
    }
    (!labels.is_empty()).then_some(labels)
}

/// flyctl's `parseDurationFlag`: a bare integer is seconds, `none` is zero, otherwise a Go
/// duration such as `5m`, `180s` or `1m30s`.
fn validate_duration(flag: &str, value: &str) -> Result<(), Failure> {
    if value == "none" || value.parse::<i64>().is_ok() || is_go_duration(value) {
        return Ok(());
    }
    Err(Failure::new(format!(
        "invalid duration value {value} used for --{flag} flag: valid options are a number of seconds, number with time unit (i.e.: 5m, 180s) or 'none'"
    )))
}

/// Go's `time.ParseDuration` grammar: `[-+]` then one or more `<decimal><unit>`, or `0`.
fn is_go_duration(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    if s == "0" {
        return true;
    }
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(*u))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// How a machine ends up after an update.
#[derive(Clone)]
struct Landing {
    state: String,
    check_status: String,
}

impl Landing {
    fn healthy() -> Landing {
        Landing {
            state: "started".to_owned(),
            check_status: "passing".to_owned(),
        }
    }
}

struct Deploy<'a> {
    ctx: &'a Ctx,
    app: String,
    strategy: String,
    config: AppConfig,
    script: DeployScript,
    image: String,
    digest: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    rng: Rng,
    /// The release this deploy created, once it has.
    release: Option<(u64, String)>,
    malformed_json: bool,
}

impl Deploy<'_> {
    fn execute(&mut self) -> Result<(), Failure> {
        self.say("==> Verifying app config")?;
        if !self.config.path.as_os_str().is_empty() {
            self.say(&format!("Validating {}", self.config.path.display()))?;
            self.say("✓ Configuration is valid")?;
        }
        self.say("--> Verified app config")?;
        if let Some(kb) = self.script.noise_kb {
            output::out_bytes(b"#5 [build 2/4] RUN echo caf\xe9\n");
            let line =
                b"#5 0.412 building layer 0123456789abcdef0123456789abcdef0123456789abcdef\n";
            for _ in 0..(kb * 1024).div_ceil(line.len()) {
                output::out_bytes(line);
            }
        }
        self.resolve_image()?;
        if self.ctx.flags.bool("build-only") {
            return Ok(());
        }
        self.create_release()?;
        self.say(&format!(
            "Watch your deployment at https://fly.io/apps/{}/monitoring",
            self.app
        ))?;
        self.say("")?;
        self.release_command()?;
        if self.strategy == "bluegreen" && !self.active_ids()?.is_empty() {
            self.bluegreen()
        } else {
            self.in_place()
        }
    }

    fn outcome(&self) -> &str {
        &self.script.outcome
    }

    /// Whether flyctl waits for health checks: not for `immediate`, not with `--detach`.
    fn gated(&self) -> bool {
        self.strategy != "immediate" && !self.ctx.flags.bool("detach")
    }

    /// Where a machine lands for a health-failure outcome.
    fn failing_landing(&self) -> Landing {
        let default_state = if self.outcome() == "crash" {
            "stopped"
        } else {
            "started"
        };
        Landing {
            state: self
                .script
                .machine_state
                .clone()
                .unwrap_or_else(|| default_state.to_owned()),
            check_status: self
                .script
                .check_status
                .clone()
                .unwrap_or_else(|| "critical".to_owned()),
        }
    }

    fn resolve_image(&mut self) -> Result<(), Failure> {
        let not_found = || {
            Failure::new(format!(
                "failed to fetch an image or build from source: could not find image \"{}\"",
                self.image
            ))
        };
        if self.ctx.flags.non_empty("image").is_some() {
            self.say(&format!("Searching for image '{}' remotely...", self.image))?;
            if self.outcome() == "image_not_found" {
                return Err(not_found());
            }
            self.say(&format!("image found: {}", ids::image_id(&self.image)))?;
        } else {
            self.say("==> Building image")?;
            if self.outcome() == "image_not_found" {
                return Err(not_found());
            }
            self.say("--> Building image done")?;
            self.say(&format!("image: {}", self.image))?;
            self.say("image size: 48 MB")?;
        }
        self.say("")
    }

    fn create_release(&mut self) -> Result<(), Failure> {
        let id = ids::release_id(&mut self.rng);
        let (app, image, strategy) = (self.app.clone(), self.image.clone(), self.strategy.clone());
        // The release keeps the config it was deployed with (`config show` reads it back);
        // `--primary-region` overrides the file's, as it does in flyctl.
        let mut config = self.config.document.clone();
        if let (Some(region), Some(serde_json::Value::Object(doc))) =
            (self.ctx.flags.non_empty("primary-region"), config.as_mut())
        {
            doc.insert("primary_region".to_owned(), region.into());
        }
        let release_id = id.clone();
        let version = self.ctx.store.update(move |s| {
            let email = s
                .user_email
                .clone()
                .unwrap_or_else(|| "ci@example.com".to_owned());
            let app = s.apps.entry(app).or_default();
            let version = app.max_release_version() + 1;
            app.releases.push(Release {
                id: Some(release_id),
                version,
                status: "running".to_owned(),
                image,
                created_at: Some(clock::rfc3339(clock::now_ms())),
                reason: Some("deploy".to_owned()),
                description: Some("Deploy image".to_owned()),
                user_email: Some(email),
                strategy: Some(strategy),
                config,
                ..Release::default()
            });
            version
        })?;
        self.release = Some((version, id));
        Ok(())
    }

    fn release_command(&mut self) -> Result<(), Failure> {
        let skip = self.ctx.flags.bool("skip-release-command");
        let scripted = self.outcome() == "release_command";
        if skip || (!scripted && self.config.release_command.is_none()) {
            return Ok(());
        }
        let command = self
            .config
            .release_command
            .clone()
            .unwrap_or_else(|| "bin/release".to_owned());
        let machine = ids::machine_id(&mut self.rng);
        self.say(&format!("Running {} release_command: {command}", self.app))?;
        self.say(&format!("  Created release_command machine {machine}"))?;
        if !scripted {
            self.say(&format!(
                "  release_command {machine} completed successfully"
            ))?;
            return self.say("");
        }
        let code = self.script.exit_code.unwrap_or(1);
        let message = format!(
            "release command failed - aborting deployment. machine {machine} exited with non-zero status of {code}"
        );
        self.finish("failed", Some(&message))?;
        Err(Failure::new(message).with_preamble(vec![format!(
            "Error release_command failed running on machine {machine} with exit code {code}."
        )]))
    }

    /// rolling, canary and immediate: machines are updated where they are, with no rollback.
    fn in_place(&mut self) -> Result<(), Failure> {
        let mut targets = self.target_ids()?;
        // Only an app with no machines at all gets new ones; a filter that matches none of
        // them updates nothing.
        if targets.is_empty() && self.active_ids()?.is_empty() {
            targets = self.launch_first_machines()?;
        }
        self.say(&format!(
            "Updating existing machines in '{}' with {} strategy",
            self.app, self.strategy
        ))?;
        self.say("")?;
        let health_failure = matches!(self.outcome(), "fail_health" | "crash");
        match self.outcome() {
            "hang" => self.hang(),
            // A release marked complete and exit 0, with no machine touched.
            "unchanged" => {
                self.say("Deployment Complete")?;
                self.succeed()
            }
            _ if health_failure && self.gated() && !targets.is_empty() => {
                let landing = self.failing_landing();
                let updated = self.script.updated.unwrap_or(1).min(targets.len());
                for id in &targets[..updated] {
                    self.say(&format!("Updating machine {id}"))?;
                    self.land(id, &landing)?;
                    self.say(&format!(
                        "  Waiting for {id} to become healthy ({}, 0/1)",
                        landing.state
                    ))?;
                }
                let failing = targets[updated.saturating_sub(1)].clone();
                // flyctl waits out --wait-timeout even when the machine has crashed (#2653).
                self.pause(self.script.wait_ms.unwrap_or(0))?;
                let message = format!(
                    "failed to update machine {failing}: Unrecoverable error: timeout reached waiting for health checks to pass for machine {failing}: context deadline exceeded"
                );
                self.finish("failed", Some(&message))?;
                Err(Failure::new(message))
            }
            _ => {
                let landing = if health_failure {
                    self.failing_landing()
                } else {
                    Landing::healthy()
                };
                for id in &targets {
                    self.say(&format!("Updating machine {id}"))?;
                    self.land(id, &landing)?;
                    if self.gated() {
                        self.say(&format!(
                            "  Waiting for {id} to become healthy (started, 1/1)"
                        ))?;
                    }
                    self.say(&format!("Machine {id} update finished: success"))?;
                }
                if self.outcome() == "fail_but_healthy" && self.gated() {
                    // The Machines API was rate-limited while flyctl polled; the app is fine.
                    let failing = targets.last().cloned().unwrap_or_default();
                    let message = format!(
                        "failed to update machine {failing}: Unrecoverable error: timeout reached waiting for health checks to pass for machine {failing}: failed to get VM {failing}: net/http: request canceled"
                    );
                    self.finish("failed", Some(&message))?;
                    return Err(Failure::new(message));
                }
                self.succeed()
            }
        }
    }

    /// bluegreen: new "green" machines next to the old "blue" ones; on a health failure the
    /// greens are deleted again and blue keeps serving (the only rollback flyctl does).
    fn bluegreen(&mut self) -> Result<(), Failure> {
        let blue = self.target_ids()?;
        self.say(&format!(
            "Updating existing machines in '{}' with bluegreen strategy",
            self.app
        ))?;
        self.say("")?;
        if self.outcome() == "hang" {
            return self.hang();
        }
        let has_checks = self
            .ctx
            .store
            .load()?
            .apps
            .get(&self.app)
            .is_some_and(|a| a.active_machines().any(|m| !m.checks.is_empty()));
        if !has_checks {
            self.say("You need to define at least 1 check in order to use blue-green deployments. Refer to https://fly.io/docs/reference/configuration/#services-http_checks")?;
            let message = "app not in valid state for bluegreen deployments";
            self.finish("failed", Some(message))?;
            return Err(Failure::new(message.to_owned()));
        }
        let health_failure = matches!(self.outcome(), "fail_health" | "crash" | "fail_but_healthy");
        let gated = !self.ctx.flags.bool("detach");
        let landing = match self.outcome() {
            "fail_health" | "crash" => self.failing_landing(),
            _ => Landing::healthy(),
        };
        self.say("Creating green machines")?;
        let mut green = Vec::new();
        for id in &blue {
            let new_id = self.clone_machine(id)?;
            self.land(&new_id, &landing)?;
            self.say(&format!("  Created machine {new_id}"))?;
            green.push(new_id);
        }
        self.say("Waiting for all green machines to start")?;
        if gated {
            self.say("Waiting for all green machines to be healthy")?;
        }
        if health_failure && gated {
            self.pause(self.script.wait_ms.unwrap_or(0))?;
            let mut preamble = vec!["Rolling back failed deployment".to_owned()];
            for id in &green {
                self.remove_machine(id)?;
                preamble.push(format!("  Deleted machine {id}"));
            }
            let message = "could not get all green machines to be healthy";
            self.finish("failed", Some(message))?;
            return Err(Failure::new(message.to_owned()).with_preamble(preamble));
        }
        self.say("Marking green machines as ready")?;
        self.say("Checkpointing deployment, this may take a few seconds...")?;
        self.say("Waiting before cordoning all blue machines")?;
        self.say("Waiting before stopping all blue machines")?;
        self.say("Waiting before destroying blue machines")?;
        for id in &blue {
            self.remove_machine(id)?;
            self.say(&format!("  Destroyed machine {id}"))?;
        }
        self.say("Deployment Complete")?;
        self.succeed()
    }

    fn succeed(&mut self) -> Result<(), Failure> {
        self.finish("complete", None)?;
        if self.ctx.flags.bool_or("dns-checks", true) && !self.ctx.flags.bool("detach") {
            self.say(&format!(
                "Checking DNS configuration for {}.fly.dev",
                self.app
            ))?;
        }
        self.say("")?;
        self.say(&format!(
            "Visit your newly deployed app at https://{}.fly.dev/",
            self.app
        ))?;
        if env("FLY_EMIT_RELEASE_JSON").is_some()
            && let Some((version, id)) = &self.release
        {
            let line = obj([
                ("id", J::from(id)),
                ("version", J::from(*version)),
                ("image_ref", J::from(&self.image)),
            ])
            .compact()
                + "\n";
            output::json(&line, self.malformed_json);
        }
        Ok(())
    }

    fn hang(&self) -> Result<(), Failure> {
        self.say(&format!(
            "Updating machine {}",
            self.active_ids()?.first().cloned().unwrap_or_default()
        ))?;
        loop {
            self.pause(1000)?;
        }
    }

    /// Prints one progress line and waits a little, like flyctl streaming a deploy.
    fn say(&self, line: &str) -> Result<(), Failure> {
        output::out_line(line);
        self.pause(LINE_DELAY_MS)
    }

    /// Sleeps; on SIGINT/SIGTERM marks the release `interrupted` and exits 127 silently.
    fn pause(&self, ms: u64) -> Result<(), Failure> {
        if signals::sleep(ms) {
            if self.release.is_some() {
                let _ = self.finish("interrupted", Some("context canceled"));
            }
            return Err(Failure::interrupted());
        }
        Ok(())
    }

    fn finish(&self, status: &str, error: Option<&str>) -> Result<(), Failure> {
        let Some((version, _)) = self.release else {
            return Ok(());
        };
        let app = self.app.clone();
        self.ctx.store.update(|s| {
            if let Some(r) = s
                .apps
                .get_mut(&app)
                .and_then(|a| a.releases.iter_mut().find(|r| r.version == version))
            {
                status.clone_into(&mut r.status);
                r.error = error.map(str::to_owned);
            }
        })
    }

    fn active_ids(&self) -> Result<Vec<String>, Failure> {
        let state = self.ctx.store.load()?;
        Ok(state
            .apps
            .get(&self.app)
            .map(|a| a.active_machines().map(|m| m.id.clone()).collect())
            .unwrap_or_default())
    }

    /// The machines this deploy updates: the active ones that pass flyctl's filters
    /// (`setMachinesForDeployment`: `--regions`, `--exclude-regions`, `--only-machines`,
    /// `--exclude-machines`, `--process-groups`, in that order). When a filter is given,
    /// flyctl says so on stderr: `--only-machines filter applied, deploying to 1/3 machines`.
    fn target_ids(&self) -> Result<Vec<String>, Failure> {
        let state = self.ctx.store.load()?;
        let Some(app) = state.apps.get(&self.app) else {
            return Ok(Vec::new());
        };
        let flags = &self.ctx.flags;
        let only_regions = flags.slice("regions");
        let exclude_regions = flags.slice("exclude-regions");
        let only_machines = flags.slice("only-machines");
        let exclude_machines = flags.slice("exclude-machines");
        let groups = flags.slice("process-groups");
        let active: Vec<&Machine> = app.active_machines().collect();
        let kept: Vec<String> = active
            .iter()
            .filter(|m| only_regions.is_empty() || only_regions.contains(&m.region.as_str()))
            .filter(|m| !exclude_regions.contains(&m.region.as_str()))
            .filter(|m| only_machines.is_empty() || only_machines.contains(&m.id.as_str()))
            .filter(|m| !exclude_machines.contains(&m.id.as_str()))
            .filter(|m| groups.is_empty() || groups.contains(&m.process_group()))
            .map(|m| m.id.clone())
            .collect();
        let applied: Vec<&str> = [
            ("--regions", &only_regions),
            ("--exclude-regions", &exclude_regions),
            ("--only-machines", &only_machines),
            ("--exclude-machines", &exclude_machines),
            ("--process-groups", &groups),
        ]
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, _)| name)
        .collect();
        if !applied.is_empty() {
            output::err_line(&format!(
                "{} filter{} applied, deploying to {}/{} machines",
                applied.join("/"),
                if applied.len() > 1 { "s" } else { "" },
                kept.len(),
                active.len()
            ));
        }
        Ok(kept)
    }

    /// A first deploy creates the app's machines: two with `--ha` (the default), else one.
    fn launch_first_machines(&mut self) -> Result<Vec<String>, Failure> {
        let count = if self.ctx.flags.bool_or("ha", true) {
            2
        } else {
            1
        };
        self.say("No machines in group app, launching a new machine")?;
        let ids: Vec<String> = (0..count).map(|_| ids::machine_id(&mut self.rng)).collect();
        if count > 1 {
            self.say("Creating a second machine to increase service availability")?;
        }
        let (app, new) = (self.app.clone(), ids.clone());
        self.ctx.store.update(move |s| {
            let app = s.apps.entry(app).or_default();
            for id in new {
                app.machines.push(Machine {
                    id,
                    region: "iad".to_owned(),
                    state: "created".to_owned(),
                    created_at: Some(clock::rfc3339(clock::now_ms())),
                    ..Machine::default()
                });
            }
        })?;
        Ok(ids)
    }

    /// Creates a green twin of machine `id` (same region, group and check names).
    fn clone_machine(&mut self, id: &str) -> Result<String, Failure> {
        let new_id = ids::machine_id(&mut self.rng);
        let (app, source, green) = (self.app.clone(), id.to_owned(), new_id.clone());
        self.ctx.store.update(move |s| {
            let app = s.apps.entry(app).or_default();
            let Some(blue) = app.machines.iter().find(|m| m.id == source).cloned() else {
                return;
            };
            let guest = Some(blue.effective_guest());
            app.machines.push(Machine {
                id: green,
                region: blue.region,
                process_group: blue.process_group,
                checks: blue.checks,
                autostop: blue.autostop,
                env: blue.env,
                guest,
                state: "created".to_owned(),
                created_at: Some(clock::rfc3339(clock::now_ms())),
                ..Machine::default()
            });
        })?;
        Ok(new_id)
    }

    fn remove_machine(&self, id: &str) -> Result<(), Failure> {
        let app = self.app.clone();
        self.ctx.store.update(|s| {
            if let Some(a) = s.apps.get_mut(&app) {
                a.machines.retain(|m| m.id != id);
            }
        })
    }

    /// Puts machine `id` on this deploy's image and release, in the given state, and saves it.
    fn land(&self, id: &str, landing: &Landing) -> Result<(), Failure> {
        let Some((version, _)) = self.release else {
            return Ok(());
        };
        let now = clock::rfc3339(clock::now_ms());
        let app = self.app.clone();
        self.ctx.store.update(|s| {
            let Some(m) = s
                .apps
                .get_mut(&app)
                .and_then(|a| a.machines.iter_mut().find(|m| m.id == id))
            else {
                return;
            };
            m.image.clone_from(&self.image);
            m.digest.clone_from(&self.digest);
            m.labels.clone_from(&self.labels);
            m.release_version = Some(version);
            // `[[vm]]` in the deployed fly.toml resizes the machines of its process group.
            if let Some(guest) = self
                .config
                .document
                .as_ref()
                .and_then(|doc| crate::appconfig::guest_for(doc, m.process_group()))
            {
                m.guest = Some(guest);
            }
            m.state.clone_from(&landing.state);
            m.updated_at = Some(now.clone());
            m.instance_id = None;
            // A health check that fails needs a check to exist; flyctl apps get a service one.
            if m.checks.is_empty() && landing.check_status != "passing" {
                m.checks.push(Check {
                    name: "servicecheck-00-http-3000".to_owned(),
                    ..Check::default()
                });
            }
            for check in &mut m.checks {
                check.status.clone_from(&landing.check_status);
                check.output = Some(check_output(&landing.check_status).to_owned());
                check.updated_at = Some(now.clone());
            }
        })
    }
}

fn check_output(status: &str) -> &'static str {
    match status {
        "passing" => "Success",
        "critical" => "connect: connection refused",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_go() {
        for ok in [
            "5m", "180s", "1m30s", "1.5h", "300ms", "0", "none", "60", "-1s",
        ] {
            assert!(validate_duration("wait-timeout", ok).is_ok(), "{ok}");
        }
        for bad in ["5 m", "m", "5x", "", "1..5s", "abc"] {
            assert!(validate_duration("wait-timeout", bad).is_err(), "{bad}");
        }
    }
}
