use super::*;

#[test]
fn classifies_flyctl_failures_and_keeps_the_message() {
    let e = classify(
        "flyctl status",
        Some(1),
        "Error: no access token available. Please login with 'flyctl auth login'\n",
    );
    assert_eq!(e.kind, ErrorKind::NotAuthenticated);
    assert!(e.message.contains("no access token available"));
    let e = classify(
        "flyctl status",
        Some(1),
        "Error: failed to get app: Could not find App \"x\"\n",
    );
    assert_eq!(e.kind, ErrorKind::AppNotFound);
    let e = classify(
        "flyctl deploy",
        Some(1),
        "Error: failed to update machine 1: Unrecoverable error: timeout reached waiting for health checks to pass for machine 1: x\n",
    );
    assert_eq!(e.kind, ErrorKind::HealthCheckTimeout);
    let e = classify(
        "flyctl deploy",
        Some(1),
        "Error release_command failed running on machine 1 with exit code 1.\nError: release command failed - aborting deployment. machine 1 exited with non-zero status of 1\n",
    );
    assert_eq!(e.kind, ErrorKind::ReleaseCommandFailed);
    assert_eq!(
        classify("flyctl deploy", Some(127), "").kind,
        ErrorKind::Interrupted
    );
    assert_eq!(
        classify("flyctl deploy", Some(1), "Error: boom\n").kind,
        ErrorKind::Other
    );
}

#[test]
fn parses_a_stream_of_pretty_printed_log_objects() {
    let text = "{\n    \"level\": \"info\",\n    \"message\": \"a\"\n}\n{\n    \"level\": \"error\",\n    \"message\": \"b\"\n}\n{\n    \"lev";
    let logs = parse_log_stream(text);
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[1].message, "b");
}

#[test]
fn release_line_is_recognised() {
    let l = r#"{"id":"rel_1","version":43,"image_ref":"registry.fly.io/a:deployment-1"}"#;
    assert_eq!(parse_release_line(l).unwrap().version, 43);
    assert!(parse_release_line("==> Verifying app config").is_none());
}

#[test]
fn machine_specs_read_guest_group_and_digest_from_machines_list() {
    // reference/flyctl.md 2.1/2.3 and canary-and-cost.md D1: `config.guest`, every field
    // omitempty; `image_ref.digest`; the process group in metadata.
    let m: Vec<MachineSpecJson> = serde_json::from_str(
        r#"[{"id":"1","state":"started","region":"iad","image_ref":{"registry":"registry.fly.io","digest":"sha256:5f0c"},
             "config":{"image":"registry.fly.io/a:deployment-1","guest":{"cpu_kind":"performance","cpus":2,"memory_mb":4096},
                       "metadata":{"fly_process_group":"worker"}}},
            {"id":"2","state":"destroyed","image_ref":{},"config":{"guest":{"memory_mb":256},"metadata":{"fly_process_group":"fly_app_release_command"}}}]"#,
    )
    .unwrap();
    let specs: Vec<MachineSpec> = m.into_iter().map(MachineSpec::from).collect();
    assert_eq!(specs[0].guest.cpu_kind, "performance");
    assert_eq!((specs[0].guest.cpus, specs[0].guest.memory_mb), (2, 4096));
    assert_eq!(specs[0].digest.as_deref(), Some("sha256:5f0c"));
    assert_eq!(specs[0].process_group, "worker");
    assert!(specs[0].is_active());
    assert_eq!(specs[1].digest, None, "an empty image_ref has no digest");
    assert_eq!((specs[1].guest.cpus, specs[1].guest.memory_mb), (0, 256));
    assert!(!specs[1].is_active());
}

#[test]
fn machine_json_reads_the_release_version_string() {
    let m: MachineJson = serde_json::from_str(
        r#"{"id":"1","state":"started","region":"iad","config":{"image":"img","metadata":{"fly_release_version":"42"},"services":[{"autostop":"suspend"}]},"checks":[{"name":"c","status":"passing"}]}"#,
    )
    .unwrap();
    let m = Machine::from(m);
    assert_eq!(m.release_version, Some(42));
    assert_eq!(m.image, "img");
    assert!(m.checks_passing());
}

#[test]
fn machine_events_read_the_exit_event_and_prefer_the_monitors() {
    let m: MachineJson = serde_json::from_str(
        r#"{"id":"1","events":[
            {"type":"exit","status":"stopped","request":{"exit_event":{"exit_code":1,"oom_killed":false,"requested_stop":false,"restarting":true},"MonitorEvent":{"exit_event":{"exit_code":137,"oom_killed":true,"restarting":true}},"restart_count":3},"source":"flyd","timestamp":1787313605000},
            {"type":"start","status":"started","source":"flyd","timestamp":1787313600000}]}"#,
    )
    .unwrap();
    let m = Machine::from(m);
    assert_eq!(m.events.len(), 2);
    let exit = m.events[0].exit.as_ref().unwrap();
    assert_eq!(
        (exit.exit_code, exit.oom_killed, exit.restarting),
        (137, true, true)
    );
    assert_eq!(m.events[0].restart_count, Some(3));
    assert_eq!(m.events[0].timestamp_ms, 1_787_313_605_000);
    assert_eq!(m.events[1].exit, None);
}

#[test]
fn machines_list_checks_list_and_secrets_list_parse_their_real_shapes() {
    // `machines list --json`: not filtered, `[]` when empty (reference/flyctl.md 2.3).
    let m: Option<Vec<MachineJson>> = serde_json::from_str(
        r#"[{"id":"148ed193b95089","name":"wispy","state":"stopped","region":"iad","image_ref":{"registry":"registry.fly.io"},
             "config":{"image":"registry.fly.io/a:deployment-1","metadata":{"fly_release_version":"42","fly_process_group":"app"},"init":{}},
             "checks":[{"name":"servicecheck-00-http-3000","status":"critical","output":"connection refused","updated_at":"2026-08-21T12:00:30Z"}],
             "host_status":"ok","cordoned":false}]"#,
    )
    .unwrap();
    let m = Machine::from(m.unwrap().remove(0));
    assert!(m.is_down() && !m.checks_passing());
    assert_eq!(
        (m.release_version, m.process_group.as_deref()),
        (Some(42), Some("app"))
    );
    let empty: Option<Vec<MachineJson>> = serde_json::from_str("[]").unwrap();
    assert!(empty.unwrap().is_empty());

    // `checks list --json`: a map keyed by machine id; `{}` with no machines (2.4).
    let c: Option<BTreeMap<String, Vec<CheckJson>>> = serde_json::from_str(
        r#"{"148ed193b95089":[{"name":"servicecheck-00-http-3000","status":"passing","output":"Success","updated_at":"2026-08-21T12:00:30.123Z"}],
            "d8d9e0f1a2b3c4":[{"name":"health","status":"critical"}]}"#,
    )
    .unwrap();
    let c = c.unwrap();
    assert_eq!(c["d8d9e0f1a2b3c4"][0].status, "critical");
    assert_eq!(c["d8d9e0f1a2b3c4"][0].output, "", "every key is omitempty");
    let none: Option<BTreeMap<String, Vec<CheckJson>>> = serde_json::from_str("{}").unwrap();
    assert!(none.unwrap().is_empty());

    // `secrets list --json`: with a status, or without one past 100 machines (2.6).
    let s: Option<Vec<SecretJson>> = serde_json::from_str(
        r#"[{"name":"DATABASE_URL","digest":"5a3f9c0d2e1b4a67","status":"Deployed"},{"name":"SESSION_SECRET","digest":"0b1c"}]"#,
    )
    .unwrap();
    let s = s.unwrap();
    assert_eq!(s[0].status.as_deref(), Some("Deployed"));
    assert_eq!(s[1].status, None);

    // `releases --json`: PascalCase, `User` object, `Metadata: null` (2.2).
    let r: Option<Vec<ReleaseJson>> = serde_json::from_str(
        r#"[{"ID":"x","Version":43,"Stable":false,"InProgress":false,"Reason":"r","Description":"d","Status":"failed","DeploymentStrategy":"","Metadata":null,
             "User":{"ID":"u","Name":"CI Bot","Email":"ci@example.com","EnablePaidHobby":false},"EvaluationID":"","CreatedAt":"2026-08-21T12:10:00Z",
             "ImageRef":"registry.fly.io/a:deployment-2"}]"#,
    )
    .unwrap();
    let r = r.unwrap();
    assert_eq!((r[0].version, r[0].status.as_str()), (43, "failed"));
    assert_eq!(r[0].user.as_ref().unwrap().email, "ci@example.com");
}

#[test]
fn sized_machines_read_guest_autostop_mounts_and_rootfs() {
    use crate::platform::inventory::{Autostop, Billing, SizedMachine};
    let text = r#"[
        {"id": "a", "state": "stopped", "region": "iad", "config": {
            "guest": {"cpu_kind": "performance", "cpus": 2, "memory_mb": 4096},
            "metadata": {"fly_process_group": "app"},
            "mounts": [{"encrypted": true, "path": "/data", "size_gb": 10, "volume": "vol_1", "name": "data"}],
            "services": [{"autostop": false, "min_machines_running": 1, "concurrency": {"type": "requests", "soft_limit": 20, "hard_limit": 25}}, {"autostop": "suspend", "concurrency": {"type": "connections", "soft_limit": 50}}],
            "rootfs": {"size_gb": 3}}},
        {"id": "b", "state": "started", "region": "ams", "config": {
            "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256}}}
    ]"#;
    let machines: Vec<SizedMachineJson> = serde_json::from_str(text).unwrap();
    let machines: Vec<SizedMachine> = machines.into_iter().map(Into::into).collect();
    assert_eq!(machines[0].cpu_kind, "performance");
    assert_eq!((machines[0].cpus, machines[0].memory_mb), (2, 4096));
    assert_eq!(machines[0].autostop, Autostop::Suspend);
    assert_eq!(machines[0].min_machines_running, 1);
    assert_eq!(machines[0].mounts, ["vol_1"]);
    assert_eq!(machines[0].rootfs_gb, Some(3));
    assert_eq!(
        machines[0].soft_limit,
        Some(20),
        "the smallest of its services"
    );
    assert_eq!(machines[1].soft_limit, None);
    assert_eq!(machines[0].billing(), Billing::RootfsOnly);
    assert_eq!(
        machines[1].autostop,
        Autostop::NoService,
        "a worker has no service"
    );
    assert_eq!(machines[1].billing(), Billing::Running);
    assert_eq!(
        autostop_of(&[ServiceJson {
            autostop: Some(serde_json::json!(true)),
            min_machines_running: None,
            concurrency: None
        }]),
        Autostop::Stop
    );
    assert_eq!(
        autostop_of(&[ServiceJson {
            autostop: Some(serde_json::json!(false)),
            min_machines_running: None,
            concurrency: None
        }]),
        Autostop::Off
    );
}
