//! Runs the built `flyctl-double` as a child process, the way shipit's tests use it, and checks
//! the contract: flag spellings, JSON shapes byte for byte where flyctl's order matters, error
//! text, every deploy outcome with the state and call log it leaves, and the hanging quirks.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const APP: &str = "hotdash-staging";
const OLD_IMAGE: &str = "registry.fly.io/hotdash-staging:deployment-01AAA";

/// A `Command` for the double itself. The workspace clippy.toml keeps process spawning in
/// shipit's Fly adapter; these tests exist to run this binary, so this is the one exception.
#[allow(clippy::disallowed_methods)]
fn double() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flyctl-double"))
}

/// A private directory with a state file; every command gets its environment set explicitly,
/// so tests never touch the test process's own environment and can run in parallel.
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    fn new(name: &str, state: &Value) -> Sandbox {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "flyctl-double-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("state.json"),
            serde_json::to_string_pretty(state).unwrap(),
        )
        .unwrap();
        Sandbox { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = double();
        cmd.args(args)
            .current_dir(&self.dir)
            .env("FLYCTL_DOUBLE_STATE", self.dir.join("state.json"))
            .env("FLYCTL_DOUBLE_LOG", self.dir.join("calls.log"))
            .env("FLY_API_TOKEN", "test-token");
        for var in [
            "FLY_ACCESS_TOKEN",
            "FLY_APP",
            "FLY_JSON",
            "FLY_REGION",
            "FLY_EMIT_RELEASE_JSON",
            "GITHUB_ACTIONS",
        ] {
            cmd.env_remove(var);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("state.json")).unwrap())
            .unwrap()
    }

    fn app(&self) -> Value {
        self.state()["apps"][APP].clone()
    }

    fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn machine(id: &str, extra: &Value) -> Value {
    let mut m = json!({
        "id": id, "name": format!("m-{id}"), "region": "iad", "state": "started",
        "image": OLD_IMAGE, "release_version": 41, "process_group": "app", "host_status": "ok",
        "checks": [{"name": "servicecheck-00-http-3000", "status": "passing", "output": "Success"}]
    });
    m.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    m
}

/// The example world from the contract: one app, one complete release, two machines.
fn world(deploys: &Value) -> Value {
    json!({
        "apps": {
            APP: {
                "org": "personal",
                "status": "deployed",
                "releases": [{
                    "version": 41, "status": "complete", "image": OLD_IMAGE,
                    "created_at": "2026-08-20T09:00:00Z", "reason": "deploy",
                    "description": "Deploy image", "user_email": "ci@example.com"
                }],
                "machines": [
                    machine("148ed193b95089", &json!({})),
                    machine("d8d9e0f1a2b3c4", &json!({"autostop": "suspend"})),
                    machine("0000dead000000", &json!({"state": "destroyed"})),
                ],
                "secrets": [{"name": "DATABASE_URL", "digest": "5a3f9c0d2e1b4a67", "status": "Deployed"}],
                "logs": [
                    {"level": "info", "instance": "148ed193b95089", "message": "GET /health 200", "region": "iad", "timestamp": "2026-08-21T12:00:31.456789Z"},
                    {"level": "error", "instance": "d8d9e0f1a2b3c4", "message": "boom <&>", "region": "ams", "timestamp": "2026-08-21T12:00:32Z"}
                ]
            },
            "empty-app": {"org": "acme", "releases": [], "machines": []}
        },
        "deploys": deploys
    })
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_out(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}, stderr: {}",
        o.status,
        stderr(o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// Keys of the lines indented by exactly `indent` spaces, in the order printed.
fn keys_at(text: &str, indent: usize) -> Vec<String> {
    let prefix = format!("{}\"", " ".repeat(indent));
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|l| l.split_once("\":").map(|(k, _)| k.to_owned()))
        .collect()
}

fn release(app: &Value, version: u64) -> Value {
    app["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["version"] == version)
        .cloned()
        .unwrap()
}

fn machine_in(app: &Value, id: &str) -> Value {
    app["machines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_app_and_json_flag_spelling_works() {
    let s = Sandbox::new("flags", &world(&json!([])));
    for args in [
        &["status", "-a", APP, "-j"][..],
        &["status", "-ahotdash-staging", "--json"],
        &["status", "--app", APP, "--json=true"],
        &["status", "--app=hotdash-staging", "-j"],
        &["-a", APP, "status", "--json"],
        &["status", "-ja", APP],
        &["--verbose", "status", "-j", "--debug", "-a", APP],
    ] {
        let out = s.run(args);
        assert_eq!(json_out(&out)["ID"], APP, "{args:?}");
    }
    let text = s.run(&["status", "-a", APP, "--json=false"]);
    assert!(text.status.success());
    assert!(stdout(&text).starts_with("App\n"), "{}", stdout(&text));
}

#[test]
fn app_name_comes_from_flag_then_env_then_config() {
    let s = Sandbox::new("appname", &world(&json!([])));
    std::fs::write(
        s.path("fly.toml"),
        "app = \"empty-app\"\n[deploy]\n  strategy = \"rolling\"\n",
    )
    .unwrap();
    std::fs::create_dir(s.path("sub")).unwrap();
    std::fs::write(s.path("sub/other.toml"), "app = 'hotdash-staging'\n").unwrap();
    let name = |cmd: &mut Command| {
        json_out(&cmd.output().unwrap())["ID"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    assert_eq!(
        name(&mut s.command(&["status", "-j"])),
        "empty-app",
        "fly.toml in the working dir"
    );
    assert_eq!(
        name(&mut s.command(&["status", "-j", "-c", "sub/other.toml"])),
        APP
    );
    assert_eq!(
        name(
            s.command(&["status", "-j", "-c", "sub/other.toml"])
                .env("FLY_APP", "empty-app")
        ),
        "empty-app"
    );
    assert_eq!(
        name(
            s.command(&["status", "-j", "-a", APP])
                .env("FLY_APP", "empty-app")
        ),
        APP
    );

    std::fs::remove_file(s.path("fly.toml")).unwrap();
    let none = s.run(&["status", "-j"]);
    assert_eq!(none.status.code(), Some(1));
    assert_eq!(
        stderr(&none),
        "Error: the config for your app is missing an app name, add an app field to the fly.toml file or specify with the -a flag\n"
    );
    // Like LoadAppConfigIfPresent, a -c path that does not exist is skipped, not an error...
    assert_eq!(
        name(&mut s.command(&["status", "-j", "-a", APP, "-c", "nope.toml"])),
        APP
    );
    let missing = s.run(&["status", "-j", "-c", "nope.toml"]);
    assert!(
        stderr(&missing).contains("missing an app name"),
        "{}",
        stderr(&missing)
    );
    // ...but one that cannot be read is.
    let dir = s.run(&["status", "-j", "-a", APP, "-c", "sub"]);
    assert_eq!(
        stderr(&dir),
        "Error: failed loading app config from sub: read sub: is a directory\n"
    );
}

#[test]
fn status_json_matches_flyctl_byte_layout() {
    let s = Sandbox::new("status", &world(&json!([])));
    let out = s.run(&["status", "--json", "-a", APP]);
    let text = stdout(&out);
    let doc = json_out(&out);
    assert!(text.starts_with("{\n    \"AppURL\": \"\",\n"), "{text}");
    assert!(text.ends_with("}\n"));
    let top = keys_at(&text, 4);
    let mut sorted = top.clone();
    sorted.sort();
    assert_eq!(top, sorted, "a Go map prints sorted keys");
    assert_eq!(
        top,
        [
            "AppURL",
            "Deployed",
            "Hostname",
            "ID",
            "Machines",
            "Name",
            "Organization",
            "PlatformVersion",
            "Status",
            "Version"
        ]
    );
    assert_eq!(
        keys_at(&text, 8),
        [
            "ID",
            "InternalNumericID",
            "Name",
            "Slug",
            "RawSlug",
            "PaidPlan"
        ]
    );
    assert_eq!(doc["Version"], 41);
    assert_eq!(doc["Hostname"], "hotdash-staging.fly.dev");
    assert_eq!(doc["Organization"]["Slug"], "personal");

    let machines = doc["Machines"].as_array().unwrap();
    let ids: Vec<&str> = machines.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["d8d9e0f1a2b3c4", "148ed193b95089"],
        "active only, id descending"
    );
    let m = &machines[1];
    assert_eq!(
        m["config"]["metadata"]["fly_release_version"], "41",
        "a string, not a number"
    );
    assert_eq!(m["config"]["image"], OLD_IMAGE);
    assert_eq!(m["config"]["services"][0]["autostop"], true);
    assert_eq!(machines[0]["config"]["services"][0]["autostop"], "suspend");
    assert_eq!(m["image_ref"]["registry"], "registry.fly.io");
    assert_eq!(m["image_ref"]["repository"], APP);
    assert_eq!(m["image_ref"]["tag"], "deployment-01AAA");
    assert!(
        m["image_ref"]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(m["checks"][0]["status"], "passing");
    assert_eq!(m["cordoned"], false);
}

#[test]
fn machines_list_is_raw_and_in_fly_go_field_order() {
    let s = Sandbox::new("machines", &world(&json!([])));
    for args in [
        &["machines", "list", "--json", "-a", APP][..],
        &["machine", "ls", "-j", "-a", APP],
        &["m", "list", "--json", "-a", APP],
    ] {
        let doc = json_out(&s.run(args));
        let ids: Vec<&str> = doc
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["148ed193b95089", "d8d9e0f1a2b3c4", "0000dead000000"],
            "{args:?}"
        );
    }
    let mut one = world(&json!([]));
    one["apps"][APP]["machines"] = json!([machine("148ed193b95089", &json!({}))]);
    let s = Sandbox::new("machines-order", &one);
    let text = stdout(&s.run(&["machines", "list", "-j", "-a", APP]));
    assert_eq!(
        keys_at(&text, 8),
        [
            "id",
            "name",
            "state",
            "region",
            "image_ref",
            "instance_id",
            "version",
            "private_ip",
            "created_at",
            "updated_at",
            "config",
            "events",
            "checks",
            "host_status",
            "cordoned"
        ]
    );
    assert_eq!(
        keys_at(&text, 12)[..4],
        ["registry", "repository", "tag", "digest"]
    );
    assert_eq!(
        stdout(&s.run(&["machines", "list", "-j", "-a", "empty-app"])),
        "[]\n"
    );
}

#[test]
fn releases_are_newest_first_last_25_pascal_case() {
    let mut w = world(&json!([]));
    w["apps"][APP]["releases"] = (1..=30)
        .map(|v| json!({"version": v, "status": if v == 30 { "failed" } else { "complete" }, "image": format!("img:{v}"), "user_email": "ci@example.com", "user_name": "CI Bot"}))
        .collect();
    let s = Sandbox::new("releases", &w);
    for args in [
        &["releases", "--json", "-a", APP][..],
        &["apps", "releases", "-j", "-a", APP, "--image"],
    ] {
        let out = s.run(args);
        let text = stdout(&out);
        let doc = json_out(&out);
        let versions: Vec<u64> = doc
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions, (6..=30).rev().collect::<Vec<_>>());
        assert_eq!(
            keys_at(&text, 8),
            [
                "ID",
                "Version",
                "Stable",
                "InProgress",
                "Reason",
                "Description",
                "Status",
                "DeploymentStrategy",
                "Metadata",
                "User",
                "EvaluationID",
                "CreatedAt",
                "ImageRef"
            ]
            .repeat(25)
        );
        let first = &doc[0];
        assert_eq!(first["Status"], "failed");
        assert_eq!(first["Stable"], false);
        assert_eq!(first["InProgress"], false);
        assert_eq!(first["Metadata"], Value::Null);
        assert_eq!(first["ImageRef"], "img:30");
        assert_eq!(first["User"]["Email"], "ci@example.com");
        assert_eq!(first["User"]["Name"], "CI Bot");
        assert!(first["ID"].as_str().unwrap().starts_with("rel_"));
    }
}

#[test]
fn checks_secrets_image_apps_and_version_shapes() {
    let s = Sandbox::new("shapes", &world(&json!([])));
    let checks = json_out(&s.run(&[
        "checks",
        "list",
        "--json",
        "-a",
        APP,
        "--check-name",
        "nope",
    ]));
    assert_eq!(
        checks["148ed193b95089"][0]["name"],
        "servicecheck-00-http-3000"
    );
    assert_eq!(
        checks.as_object().unwrap().len(),
        2,
        "destroyed machines are not listed"
    );
    assert_eq!(
        stdout(&s.run(&["checks", "list", "-j", "-a", "empty-app"])),
        "{}\n"
    );

    let secrets = s.run(&["secrets", "list", "--json", "-a", APP]);
    assert_eq!(keys_at(&stdout(&secrets), 8), ["name", "digest", "status"]);
    assert_eq!(json_out(&secrets)[0]["status"], "Deployed");

    let image = s.run(&["image", "show", "--json", "-a", APP]);
    assert_eq!(
        keys_at(&stdout(&image), 8)[..7],
        [
            "Digest",
            "Labels",
            "MachineID",
            "Registry",
            "Repository",
            "Tag",
            "Version"
        ]
    );
    assert_eq!(json_out(&image)[0]["Version"], "N/A");
    assert_eq!(
        stdout(&s.run(&["image", "show", "-j", "-a", "empty-app"])),
        "null\n"
    );

    let apps = s.run(&["apps", "list", "--json"]);
    let doc = json_out(&apps);
    assert_eq!(doc[1]["Name"], APP);
    assert_eq!(doc[1]["Organization"]["Slug"], "personal");
    assert_eq!(doc[1]["CurrentRelease"]["Status"], "complete");
    assert_eq!(doc[1]["PlatformVersion"], "machines");

    let version = s.run(&["version", "--json"]);
    let text = stdout(&version);
    assert!(text.starts_with("{\"Name\":\"flyctl-double\",\"Version\":\"0.4.87\",\"Commit\":\"ad0172fac\",\"BranchName\":\"\","));
    assert_eq!(text.lines().count(), 1, "version --json is compact");
    let plain = stdout(&s.run(&["version"]));
    assert!(plain.starts_with("flyctl-double v0.4.87 "), "{plain}");
    assert!(
        plain.ends_with(" Commit: ad0172fac BuildDate: 2026-08-20T18:00:00Z\n"),
        "{plain}"
    );
}

#[test]
fn tokens_are_required_like_flyctl() {
    let s = Sandbox::new("token", &world(&json!([])));
    let no_token = s
        .command(&["status", "-j", "-a", APP])
        .env_remove("FLY_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(no_token.status.code(), Some(1));
    assert_eq!(
        stderr(&no_token),
        "Error: no access token available. Please login with 'flyctl auth login'\n"
    );
    assert!(no_token.stdout.is_empty());
    let empty = s
        .command(&["deploy", "-a", APP])
        .env("FLY_API_TOKEN", "")
        .output()
        .unwrap();
    assert!(stderr(&empty).contains("no access token"));
    for args in [
        &["status", "-j", "-a", APP, "-t", "tok"][..],
        &["--access-token=tok", "status", "-j", "-a", APP],
    ] {
        let out = s
            .command(args)
            .env_remove("FLY_API_TOKEN")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
    }
    let access = s
        .command(&["status", "-j", "-a", APP])
        .env_remove("FLY_API_TOKEN")
        .env("FLY_ACCESS_TOKEN", "t")
        .output()
        .unwrap();
    assert!(access.status.success());
    let version = s
        .command(&["version"])
        .env_remove("FLY_API_TOKEN")
        .output()
        .unwrap();
    assert!(version.status.success());

    let mut open = world(&json!([]));
    open["token_required"] = json!(false);
    let s = Sandbox::new("token-off", &open);
    assert!(
        s.command(&["status", "-j", "-a", APP])
            .env_remove("FLY_API_TOKEN")
            .output()
            .unwrap()
            .status
            .success()
    );

    let unset = double()
        .arg("version")
        .env_remove("FLYCTL_DOUBLE_STATE")
        .output()
        .unwrap();
    assert_eq!(stderr(&unset), "Error: FLYCTL_DOUBLE_STATE is not set\n");
    assert_eq!(unset.status.code(), Some(1));
}

#[test]
fn missing_apps_and_bad_arguments_fail_with_flyctl_text() {
    let s = Sandbox::new("errors", &world(&json!([{"outcome": "ok"}])));
    for (args, message) in [
        (
            &["status", "-j", "-a", "ghost"][..],
            "Error: failed to get app: Could not find App \"ghost\"\n",
        ),
        (
            &["releases", "-j", "-a", "ghost"],
            "Error: Could not find App \"ghost\"\n",
        ),
        (
            &["machines", "list", "-j", "-a", "ghost"],
            "Error: failed to list VMs: app not found\n",
        ),
        (
            &["deploy", "-a", "ghost", "--remote-only", "--yes"],
            "Error: the app name ghost could not be found, did you create the app or misspell it in the fly.toml file or via -a?\n",
        ),
        (&["status", "--foo"], "Error: unknown flag: --foo\n"),
        (
            &["status", "-z"],
            "Error: unknown shorthand flag: 'z' in -z\n",
        ),
        (
            &["deploy", "-a", APP, "--json"],
            "Error: unknown flag: --json\n",
        ),
        (
            &["deploy", "-a", APP, "--strategy", "yolo"],
            "Error: unsupported deployment strategy 'yolo'; Apps v2 supports the following strategies: canary, rolling, immediate, bluegreen\n",
        ),
        (
            &["deploy", "-a", APP, "--wait-timeout", "5 minutes"],
            "Error: invalid duration value 5 minutes used for --wait-timeout flag: valid options are a number of seconds, number with time unit (i.e.: 5m, 180s) or 'none'\n",
        ),
    ] {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&out), message, "{args:?}");
    }
    let unknown = s.run(&["rollback", "-a", APP]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        stderr(&unknown),
        "Error: unknown command \"rollback\" for \"flyctl\"\n"
    );
    assert_eq!(stdout(&unknown), "Run 'flyctl --help' for usage.\n");
    // None of the rejected deploys consumed the scripted outcome or created a release.
    assert_eq!(s.state()["deploys"], json!([{"outcome": "ok"}]));
    assert_eq!(s.app()["releases"].as_array().unwrap().len(), 1);
    for ok in ["5m", "180s", "none", "90"] {
        let args = ["deploy", "-a", APP, "--wait-timeout", ok, "--build-only"];
        assert!(s.run(&args).status.success(), "{ok}");
    }
}

#[test]
fn deploy_ok_updates_every_machine_and_emits_release_json() {
    let s = Sandbox::new("deploy-ok", &world(&json!([{"outcome": "ok"}])));
    let out = s
        .command(&[
            "deploy",
            ".",
            "-a",
            APP,
            "-c",
            "fly.toml",
            "--remote-only",
            "--yes",
            "--strategy=rolling",
            "--wait-timeout=5m",
        ])
        .env("FLY_EMIT_RELEASE_JSON", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in [
        "==> Verifying app config",
        "Watch your deployment at https://fly.io/apps/hotdash-staging/monitoring",
        "Updating existing machines in 'hotdash-staging' with rolling strategy",
        "Machine 148ed193b95089 update finished: success",
        "Visit your newly deployed app at https://hotdash-staging.fly.dev/",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in {text}"
        );
    }
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let image = last["image_ref"].as_str().unwrap();
    assert_eq!(last["version"], 42);
    assert!(last["id"].as_str().unwrap().starts_with("rel_"));
    let tag = image
        .strip_prefix("registry.fly.io/hotdash-staging:deployment-")
        .unwrap();
    assert_eq!(tag.len(), 26);
    assert!(
        tag.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );

    let app = s.app();
    assert_eq!(release(&app, 42)["status"], "complete");
    assert_eq!(release(&app, 42)["id"], last["id"]);
    for id in ["148ed193b95089", "d8d9e0f1a2b3c4"] {
        let m = machine_in(&app, id);
        assert_eq!(m["image"], image);
        assert_eq!(m["release_version"], 42);
        assert_eq!(m["state"], "started");
        assert_eq!(m["checks"][0]["status"], "passing");
    }
    assert_eq!(s.state()["deploys"], json!([]));
    let calls = s.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["argv"][0], "deploy");
    assert_eq!(calls[0]["emit_release_json"], true);
    assert!(calls[0]["time_ms"].as_i64().unwrap() > 1_700_000_000_000);

    // Without FLY_EMIT_RELEASE_JSON there is no JSON line; the queue is empty, so `ok` again.
    let again = s.run(&["deploy", "-a", APP, "-i", image]);
    assert!(again.status.success());
    assert!(stdout(&again).contains(&format!("Searching for image '{image}' remotely...")));
    assert!(!stdout(&again).contains("{\"id\""));
    assert_eq!(
        json_out(&s.run(&["status", "-j", "-a", APP]))["Version"],
        43
    );
}

#[test]
fn deploy_fail_health_leaves_the_first_machine_on_the_new_image() {
    let s = Sandbox::new(
        "deploy-fail",
        &world(&json!([
            {"outcome": "fail_health", "wait_ms": 50},
            {"outcome": "crash"}
        ])),
    );
    let out = s
        .command(&[
            "deploy",
            "-a",
            APP,
            "--image",
            "registry.fly.io/hotdash-staging:bad",
        ])
        .env("FLY_EMIT_RELEASE_JSON", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Error: failed to update machine 148ed193b95089: Unrecoverable error: timeout reached waiting for health checks to pass for machine 148ed193b95089: context deadline exceeded\n"
    );
    assert!(
        !stdout(&out).contains("{\"id\""),
        "no release JSON on failure"
    );
    let app = s.app();
    assert_eq!(release(&app, 42)["status"], "failed");
    let first = machine_in(&app, "148ed193b95089");
    assert_eq!(first["image"], "registry.fly.io/hotdash-staging:bad");
    assert_eq!(first["release_version"], 42);
    assert_eq!(first["state"], "started");
    assert_eq!(first["checks"][0]["status"], "critical");
    let second = machine_in(&app, "d8d9e0f1a2b3c4");
    assert_eq!(second["image"], OLD_IMAGE, "the rest is untouched");
    assert_eq!(second["release_version"], 41);
    // A half-done rolling deploy: status reports the new release the first machine runs.
    assert_eq!(
        json_out(&s.run(&["status", "-j", "-a", APP]))["Version"],
        42
    );

    let crash = s.run(&["deploy", "-a", APP]);
    assert_eq!(crash.status.code(), Some(1));
    let m = machine_in(&s.app(), "148ed193b95089");
    assert_eq!(m["state"], "stopped");
    assert_eq!(m["release_version"], 43);
    assert_eq!(release(&s.app(), 43)["status"], "failed");
}

#[test]
fn deploy_fail_but_healthy_release_command_and_image_not_found() {
    let s = Sandbox::new(
        "deploy-other",
        &world(&json!([
            {"outcome": "fail_but_healthy"},
            {"outcome": "release_command", "exit_code": 3},
            {"outcome": "image_not_found"}
        ])),
    );
    let healthy = s
        .command(&["deploy", "-a", APP])
        .env("FLY_EMIT_RELEASE_JSON", "1")
        .output()
        .unwrap();
    assert_eq!(healthy.status.code(), Some(1));
    assert!(
        stderr(&healthy)
            .ends_with(": failed to get VM d8d9e0f1a2b3c4: net/http: request canceled\n"),
        "{}",
        stderr(&healthy)
    );
    assert!(!stdout(&healthy).contains("{\"id\""));
    let app = s.app();
    assert_eq!(release(&app, 42)["status"], "failed");
    for id in ["148ed193b95089", "d8d9e0f1a2b3c4"] {
        assert_eq!(machine_in(&app, id)["release_version"], 42);
        assert_eq!(machine_in(&app, id)["checks"][0]["status"], "passing");
    }

    let rc = s.run(&["deploy", "-a", APP]);
    assert_eq!(rc.status.code(), Some(1));
    let lines: Vec<&str> = std::str::from_utf8(&rc.stderr).unwrap().lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("Error release_command failed running on machine "));
    assert!(lines[0].ends_with(" with exit code 3."));
    assert!(lines[1].starts_with("Error: release command failed - aborting deployment. machine "));
    assert!(lines[1].ends_with(" exited with non-zero status of 3"));
    assert_eq!(release(&s.app(), 43)["status"], "failed");
    assert_eq!(
        machine_in(&s.app(), "148ed193b95089")["release_version"],
        42,
        "machines untouched"
    );

    let missing = s.run(&["deploy", "-a", APP, "--image", "registry.fly.io/x:gone"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stderr(&missing),
        "Error: failed to fetch an image or build from source: could not find image \"registry.fly.io/x:gone\"\n"
    );
    assert_eq!(
        s.app()["releases"].as_array().unwrap().len(),
        3,
        "no release created"
    );
}

#[test]
fn immediate_and_bluegreen_strategies_behave_like_flyctl() {
    let s = Sandbox::new(
        "strategies",
        &world(&json!([
            {"outcome": "fail_health"},
            {"outcome": "fail_health"},
            {"outcome": "ok"}
        ])),
    );
    // immediate never waits for health checks: exit 0 even though every machine is critical.
    let immediate = s.run(&["deploy", "-a", APP, "--strategy", "immediate"]);
    assert!(immediate.status.success(), "{}", stderr(&immediate));
    assert_eq!(release(&s.app(), 42)["status"], "complete");
    assert_eq!(
        machine_in(&s.app(), "d8d9e0f1a2b3c4")["checks"][0]["status"],
        "critical"
    );

    // bluegreen deletes its green machines when they fail, and blue keeps serving.
    let failed = s.run(&["deploy", "-a", APP, "--strategy", "bluegreen"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).starts_with("Rolling back failed deployment\n  Deleted machine "),
        "{}",
        stderr(&failed)
    );
    let ids: Vec<String> = s.app()["machines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["148ed193b95089", "d8d9e0f1a2b3c4", "0000dead000000"]);

    let ok = s.run(&["deploy", "-a", APP, "--strategy", "bluegreen"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let app = s.app();
    let active: Vec<&Value> = app["machines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["state"] == "started")
        .collect();
    assert_eq!(active.len(), 2);
    assert!(
        active
            .iter()
            .all(|m| m["release_version"] == 44 && m["id"] != "148ed193b95089")
    );
}

#[test]
fn deploy_streams_its_progress_line_by_line() {
    let s = Sandbox::new("stream", &world(&json!([{"outcome": "ok"}])));
    let mut child = s.spawn(&["deploy", "-a", APP]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "==> Verifying app config");
    assert!(
        child.try_wait().unwrap().is_none(),
        "first line arrives while the deploy still runs"
    );
    assert!(lines.any(|l| l.unwrap().starts_with("Visit your newly deployed app")));
    assert!(child.wait().unwrap().success());
}

#[test]
fn malformed_output_is_truncated_json_with_exit_zero() {
    let mut w = world(&json!([]));
    w["malformed"] = json!(["status", "image"]);
    let s = Sandbox::new("malformed", &w);
    let out = s.run(&["status", "-j", "-a", APP]);
    assert!(out.status.success());
    assert!(!out.stdout.is_empty());
    assert!(serde_json::from_slice::<Value>(&out.stdout).is_err());
    let null = s.run(&["image", "show", "-j", "-a", "empty-app"]);
    assert!(serde_json::from_slice::<Value>(&null.stdout).is_err());
    assert!(
        json_out(&s.run(&["releases", "-j", "-a", APP])).is_array(),
        "other commands unaffected"
    );
}

#[test]
fn logs_print_pretty_objects_one_after_another() {
    let s = Sandbox::new("logs", &world(&json!([])));
    let out = s.run(&["logs", "--no-tail", "--json", "-a", APP]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.starts_with("{\n    \"level\": \"info\",\n    \"instance\": \"148ed193b95089\",\n"),
        "{text}"
    );
    assert!(
        text.contains("\"message\": \"boom \\u003c\\u0026\\u003e\""),
        "Go escapes HTML characters"
    );
    let entries: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["meta"]["Event"]["Provider"], "app");
    assert_eq!(entries[0]["meta"]["HTTP"]["Response"]["status_code"], 0);
    let by_machine = s.run(&["logs", "-n", "-j", "-a", APP, "-i", "d8d9e0f1a2b3c4"]);
    assert_eq!(
        serde_json::Deserializer::from_slice(&by_machine.stdout)
            .into_iter::<Value>()
            .count(),
        1
    );
    let by_region = s
        .command(&["logs", "-n", "-j", "-a", APP])
        .env("FLY_REGION", "ams")
        .output()
        .unwrap();
    assert!(stdout(&by_region).contains("boom"));
    assert!(!stdout(&by_region).contains("GET /health"));
}

#[test]
fn logs_no_tail_never_returns_on_an_empty_buffer() {
    let s = Sandbox::new("logs-hang", &world(&json!([])));
    let mut child = s.spawn(&["logs", "--no-tail", "--json", "-a", "empty-app"]);
    std::thread::sleep(Duration::from_millis(500));
    let exited = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        exited.is_none(),
        "logs --no-tail returned on an empty buffer: {exited:?}"
    );
}

#[test]
fn sigint_or_sigterm_during_a_deploy_marks_the_release_interrupted_and_exits_127() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let s = Sandbox::new("signal", &world(&json!([{"outcome": "hang"}])));
        let child = s.spawn(&["deploy", "-a", APP, "--remote-only", "--yes"]);
        wait_for("the running release", || {
            s.app()["releases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["status"] == "running")
        });
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: signalling our own child process.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(127), "signal {signal}");
        assert!(out.stderr.is_empty(), "nothing printed: {}", stderr(&out));
        assert!(!stdout(&out).contains("Error"), "{}", stdout(&out));
        assert_eq!(release(&s.app(), 42)["status"], "interrupted");
        assert_eq!(s.calls().len(), 1, "the hung call was logged");
    }
}

#[test]
fn a_failing_machine_is_visible_to_status_while_flyctl_still_waits() {
    let s = Sandbox::new(
        "concurrent",
        &world(&json!([{"outcome": "fail_health", "wait_ms": 1500}])),
    );
    let mut child = s.spawn(&["deploy", "-a", APP]);
    wait_for("the first machine on release 42", || {
        let doc = json_out(&s.run(&["status", "-j", "-a", APP]));
        let m = doc["Machines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == "148ed193b95089")
            .cloned()
            .unwrap();
        m["config"]["metadata"]["fly_release_version"] == "42"
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the deploy is still waiting out its timeout"
    );
    assert_eq!(release(&s.app(), 42)["status"], "running");
    assert_eq!(child.wait().unwrap().code(), Some(1));
    assert_eq!(release(&s.app(), 42)["status"], "failed");
}

#[test]
fn only_and_exclude_machines_update_the_chosen_machines_only() {
    let three = |deploys: Value| {
        let mut w = world(&deploys);
        w["apps"][APP]["machines"]
            .as_array_mut()
            .unwrap()
            .push(machine("e9e9e9e9e9e9e9", &json!({"region": "ams"})));
        w
    };
    let s = Sandbox::new(
        "only-machines",
        &three(json!([{"outcome": "ok"}, {"outcome": "ok"}])),
    );
    let out = s.run(&[
        "deploy",
        "-a",
        APP,
        "--remote-only",
        "--yes",
        "-i",
        "registry.fly.io/x:new",
        "--only-machines",
        "148ed193b95089",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--only-machines filter applied, deploying to 1/3 machines"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("Updating machine 148ed193b95089"));
    assert!(!stdout(&out).contains("Updating machine d8d9e0f1a2b3c4"));
    let app = s.app();
    assert_eq!(
        machine_in(&app, "148ed193b95089")["image"],
        "registry.fly.io/x:new"
    );
    assert_eq!(machine_in(&app, "148ed193b95089")["release_version"], 42);
    for untouched in ["d8d9e0f1a2b3c4", "e9e9e9e9e9e9e9"] {
        assert_eq!(
            machine_in(&app, untouched)["image"],
            OLD_IMAGE,
            "{untouched}"
        );
        assert_eq!(machine_in(&app, untouched)["release_version"], 41);
    }
    // The rest of the fleet: everything but the canary, repeated and comma-separated forms.
    let out = s.run(&[
        "deploy",
        "-a",
        APP,
        "-i",
        "registry.fly.io/x:new",
        "--exclude-machines",
        "148ed193b95089",
        "--exclude-machines=0000dead000000,",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("--exclude-machines filter applied, deploying to 2/3 machines"));
    let app = s.app();
    for id in ["d8d9e0f1a2b3c4", "e9e9e9e9e9e9e9"] {
        assert_eq!(machine_in(&app, id)["image"], "registry.fly.io/x:new");
        assert_eq!(machine_in(&app, id)["release_version"], 43);
    }
    assert_eq!(machine_in(&app, "148ed193b95089")["release_version"], 42);
}

#[test]
fn machine_filters_combine_and_a_failure_stays_on_the_chosen_machines() {
    let s = Sandbox::new(
        "filters-fail",
        &world(&json!([{"outcome": "fail_health"}, {"outcome": "ok"}])),
    );
    let out = s.run(&[
        "deploy",
        "-a",
        APP,
        "-i",
        "registry.fly.io/x:bad",
        "--only-machines=d8d9e0f1a2b3c4",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("failed to update machine d8d9e0f1a2b3c4"),
        "{}",
        stderr(&out)
    );
    let app = s.app();
    assert_eq!(
        machine_in(&app, "d8d9e0f1a2b3c4")["image"],
        "registry.fly.io/x:bad"
    );
    assert_eq!(machine_in(&app, "148ed193b95089")["image"], OLD_IMAGE);
    // Two filters: the message names both; a filter that matches nothing updates nothing.
    let out = s.run(&[
        "deploy",
        "-a",
        APP,
        "-i",
        "registry.fly.io/x:new",
        "--only-machines",
        "148ed193b95089",
        "--exclude-machines",
        "148ed193b95089",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "--only-machines/--exclude-machines filters applied, deploying to 0/2 machines"
        )
    );
    let app = s.app();
    assert_eq!(machine_in(&app, "148ed193b95089")["image"], OLD_IMAGE);
    assert_eq!(
        app["machines"].as_array().unwrap().len(),
        3,
        "no machine was created"
    );
}

#[test]
fn machines_list_carries_guest_size_autostop_and_mounts() {
    let mut w = world(&json!([]));
    w["apps"][APP]["machines"] = json!([
        machine(
            "148ed193b95089",
            &json!({
                "cpu_kind": "performance", "cpus": 2, "memory_mb": 4096, "autostop": false,
                "autostart": false, "min_machines_running": 0,
                "mounts": [{"volume": "vol_1zz", "path": "/data", "size_gb": 10, "name": "pgdata"}]
            })
        ),
        machine("d8d9e0f1a2b3c4", &json!({"autostop": "suspend"})),
    ]);
    let s = Sandbox::new("machines-guest", &w);
    let doc = json_out(&s.run(&["machines", "list", "--json", "-a", APP]));
    let big = &doc[0]["config"];
    assert_eq!(
        big["guest"],
        json!({"cpu_kind": "performance", "cpus": 2, "memory_mb": 4096})
    );
    assert_eq!(
        big["mounts"],
        json!([{"path": "/data", "size_gb": 10, "volume": "vol_1zz", "name": "pgdata"}])
    );
    let service = &big["services"][0];
    assert_eq!(service["autostop"], false);
    assert_eq!(service["autostart"], false);
    assert_eq!(service["min_machines_running"], 0);
    let small = &doc[1]["config"];
    assert_eq!(
        small["guest"],
        json!({"cpu_kind": "shared", "cpus": 1, "memory_mb": 512})
    );
    assert_eq!(small["services"][0]["autostop"], "suspend");
    assert!(small.get("mounts").is_none(), "omitempty");
}

#[test]
fn volumes_list_is_fly_go_volumes_without_those_being_destroyed() {
    let mut w = world(&json!([]));
    w["apps"][APP]["volumes"] = json!([
        {"id": "vol_1zz", "name": "pgdata", "size_gb": 10, "attached_machine_id": "148ed193b95089"},
        {"id": "vol_2yy", "name": "pgdata", "size_gb": 40, "region": "ams"},
        {"id": "vol_3xx", "size_gb": 5, "state": "pending_destroy"},
    ]);
    let s = Sandbox::new("volumes", &w);
    for args in [
        &["volumes", "list", "--json", "-a", APP][..],
        &["vol", "ls", "-j", "-a", APP],
        &["volume", "list", "--json", "--app", APP],
    ] {
        let doc = json_out(&s.run(args));
        let ids: Vec<&str> = doc
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["vol_1zz", "vol_2yy"], "{args:?}");
    }
    let all = json_out(&s.run(&["volumes", "list", "--json", "--all", "-a", APP]));
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert_eq!(all[2]["state"], "pending_destroy");
    let text = stdout(&s.run(&["volumes", "list", "-j", "-a", APP]));
    assert_eq!(
        keys_at(&text, 8),
        [
            "id",
            "name",
            "state",
            "size_gb",
            "region",
            "zone",
            "encrypted",
            "attached_machine_id",
            "attached_alloc_id",
            "created_at",
            "host_dedication_id",
            "snapshot_retention",
            "auto_backup_enabled",
            "host_status"
        ]
        .repeat(2)
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc[0]["attached_machine_id"], "148ed193b95089");
    assert_eq!(doc[1]["attached_machine_id"], Value::Null);
    assert_eq!(doc[1]["region"], "ams");
    let missing = s.run(&["volumes", "list", "--json", "-a", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("Could not find App \"nope\""),
        "{}",
        stderr(&missing)
    );
    assert_eq!(
        stdout(&s.run(&["volumes", "list", "-j", "-a", "empty-app"])),
        "[]\n"
    );
}

#[test]
fn machines_list_reports_each_machines_guest() {
    let mut state = world(&json!([]));
    state["apps"][APP]["machines"][1]["guest"] =
        json!({"cpu_kind": "performance", "cpus": 2, "memory_mb": 4096});
    let s = Sandbox::new("guest", &state);
    let out = s.run(&["machines", "list", "--json", "-a", APP]);
    let text = stdout(&out);
    // fly-go's MachineGuest order: cpu_kind, cpus, memory_mb.
    assert_eq!(
        keys_at(&text, 16)
            .iter()
            .filter(|k| ["cpu_kind", "cpus", "memory_mb"].contains(&k.as_str()))
            .take(3)
            .collect::<Vec<_>>(),
        ["cpu_kind", "cpus", "memory_mb"]
    );
    let doc = json_out(&out);
    let guest = |id: &str| {
        doc.as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["config"]["guest"]
            .clone()
    };
    assert_eq!(
        guest("148ed193b95089"),
        json!({"cpu_kind": "shared", "cpus": 1, "memory_mb": 512}),
        "an unsized machine is a shared-cpu-1x with 512 MB"
    );
    assert_eq!(
        guest("d8d9e0f1a2b3c4"),
        json!({"cpu_kind": "performance", "cpus": 2, "memory_mb": 4096})
    );
}

const FLY_TOML: &str = r#"app = "hotdash-staging"
primary_region = "iad"
kill_timeout = "10s"

[deploy]
  release_command = "bin/migrate"
  strategy = "rolling"

[env]
  PORT = "3000"
  NODE_ENV = "production"

[http_service]
  internal_port = 3000
  force_https = true
  auto_stop_machines = "stop"
  min_machines_running = 1

  [[http_service.checks]]
    interval = "1m"
    timeout = "5s"
    path = "/health"

[[vm]]
  size = "shared-cpu-2x"
  memory = "1gb"
"#;

#[test]
fn config_show_prints_the_deployed_fly_toml_like_marshal_indent() {
    let s = Sandbox::new("config-show", &world(&json!([])));
    std::fs::write(s.path("fly.toml"), FLY_TOML).unwrap();
    let deploy = s.run(&[
        "deploy",
        "-a",
        APP,
        "-c",
        "fly.toml",
        "--remote-only",
        "--yes",
    ]);
    assert!(deploy.status.success(), "{}", stderr(&deploy));
    // The deployed [[vm]] resized the machines.
    let m = machine_in(&s.app(), "148ed193b95089");
    assert_eq!(
        m["guest"],
        json!({"cpu_kind": "shared", "cpus": 2, "memory_mb": 1024})
    );

    // Read from another folder, with no fly.toml: the release's stored config.
    std::fs::remove_file(s.path("fly.toml")).unwrap();
    let out = s.run(&["config", "show", "-a", APP]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.starts_with("{\n  \"app\": \"hotdash-staging\",\n  \"primary_region\": \"iad\",\n  \"kill_timeout\": \"10s\",\n"), "{text}");
    assert!(
        text.ends_with("}\n"),
        "MarshalIndent then Fprintln: {text:?}"
    );
    assert_eq!(
        keys_at(&text, 2),
        [
            "app",
            "primary_region",
            "kill_timeout",
            "deploy",
            "env",
            "http_service",
            "vm"
        ],
        "appconfig.Config's field order"
    );
    assert_eq!(keys_at(&text, 4)[..2], ["strategy", "release_command"]);
    let doc = json_out(&out);
    assert_eq!(
        doc["env"],
        json!({"NODE_ENV": "production", "PORT": "3000"})
    );
    assert_eq!(
        doc["http_service"]["auto_stop_machines"], true,
        "MachineAutostop"
    );
    assert_eq!(
        doc["http_service"]["checks"][0]["interval"], "1m0s",
        "fly.Duration prints Go's duration text"
    );
    // The `display` alias, and --local needing a file.
    assert_eq!(json_out(&s.run(&["config", "display", "-a", APP])), doc);
    let local = s.run(&["config", "show", "--local", "-a", APP]);
    assert_eq!(local.status.code(), Some(1));
    assert_eq!(stderr(&local), "Error: No local fly.toml found\n");
    std::fs::write(s.path("fly.toml"), "app = 'other'\n[env]\nA = '1'\n").unwrap();
    let local = json_out(&s.run(&["config", "show", "--local"]));
    assert_eq!(local, json!({"app": "other", "env": {"A": "1"}}));
}

#[test]
fn config_show_rebuilds_from_machines_and_fails_like_flyctl() {
    let mut state = world(&json!([]));
    state["apps"][APP]["machines"][0]["env"] = json!({"LOG_LEVEL": "info"});
    state["apps"][APP]["machines"][1]["env"] = json!({"LOG_LEVEL": "info"});
    let s = Sandbox::new("config-rebuild", &state);
    let doc = json_out(&s.run(&["config", "show", "-a", APP]));
    assert_eq!(doc["app"], APP);
    assert_eq!(doc["primary_region"], "iad");
    assert_eq!(doc["env"], json!({"LOG_LEVEL": "info"}));
    assert_eq!(
        doc["vm"],
        json!([{"cpu_kind": "shared", "cpus": 1, "memory_mb": 512}])
    );
    let missing = s.run(&["config", "show", "-a", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stderr(&missing),
        "Error: error getting app: Could not find App \"nope\"\n"
    );
    let bad = s.run(&["config", "show", "-a", APP, "--json"]);
    assert_eq!(stderr(&bad), "Error: unknown flag: --json\n");
    let no_token = s
        .command(&["config", "show", "-a", APP])
        .env_remove("FLY_API_TOKEN")
        .output()
        .unwrap();
    assert!(stderr(&no_token).contains("no access token available"));
}

#[test]
fn api_latency_delays_every_command_but_version() {
    let mut state = world(&json!([]));
    state["api_latency_ms"] = json!(300);
    let s = Sandbox::new("latency", &state);
    let started = Instant::now();
    assert!(s.run(&["status", "--json", "-a", APP]).status.success());
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "a call waits out the scripted API round trip"
    );
    // `version` needs no API, so it is not delayed (only a lower bound is asserted above).
    assert!(s.run(&["version"]).status.success());
}

#[test]
fn scripted_machine_events_render_in_fly_go_shape_newest_first() {
    let mut w = world(&json!([]));
    w["apps"][APP]["machines"][0]["events"] = json!([
        {"type": "exit", "status": "stopped", "timestamp": 1_787_313_605_000_i64, "exit_code": 137, "oom_killed": true, "restarting": true, "restart_count": 3},
        {"type": "start", "status": "started", "timestamp": 1_787_313_600_000_i64}
    ]);
    let s = Sandbox::new("events", &w);
    let list = json_out(&s.run(&["machines", "list", "--json", "-a", APP]));
    let m = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "148ed193b95089")
        .unwrap();
    let exit = &m["events"][0];
    assert_eq!(exit["type"], "exit");
    assert_eq!(exit["source"], "flyd");
    assert_eq!(exit["timestamp"], 1_787_313_605_000_i64);
    assert_eq!(exit["request"]["exit_event"]["exit_code"], 137);
    assert_eq!(exit["request"]["exit_event"]["oom_killed"], true);
    assert_eq!(exit["request"]["exit_event"]["restarting"], true);
    assert_eq!(exit["request"]["exit_event"]["requested_stop"], false);
    assert_eq!(exit["request"]["restart_count"], 3);
    assert_eq!(m["events"][1]["type"], "start");
    assert!(m["events"][1].get("request").is_none());
    let status = json_out(&s.run(&["status", "--json", "-a", APP]));
    assert_eq!(
        status["Machines"][1]["events"][0]["request"]["restart_count"],
        3
    );
    // Machines without scripted events still carry one event matching their state.
    let other = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "d8d9e0f1a2b3c4")
        .unwrap();
    assert_eq!(other["events"][0]["type"], "start");
}

#[test]
fn a_token_that_may_not_read_logs_is_refused() {
    let mut w = world(&json!([]));
    w["log_denied_tokens"] = json!(["deploy-token"]);
    let s = Sandbox::new("logs-denied", &w);
    let out = s
        .command(&["logs", "--no-tail", "--json", "-a", APP])
        .env("FLY_API_TOKEN", "deploy-token")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "Error: not authorized to retrieve app logs (this can happen when using deploy tokens)\n"
    );
    assert!(stdout(&out).is_empty());
    // Another token reads them; the refused token still reads status.
    assert!(
        s.run(&["logs", "--no-tail", "--json", "-a", APP])
            .status
            .success()
    );
    let st = s
        .command(&["status", "--json", "-a", APP])
        .env("FLY_API_TOKEN", "deploy-token")
        .output()
        .unwrap();
    assert!(st.status.success());
}
