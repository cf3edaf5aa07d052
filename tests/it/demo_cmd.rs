//! `shipit demo`, the README's first command: the whole pipeline on this machine, with no
//! flyctl and no token, ending with v2 rolled back and v1 live and healthy.

use crate::support::{Project, Run};

#[test]
fn the_demo_rolls_v2_back_to_v1_and_says_where_everything_went() {
    let p = Project::new();
    let dir = p.file("demo");
    // No flyctl, no token: the demo needs neither.
    let out = p
        .shipit(&["demo", "--dir", dir.to_str().unwrap()])
        .env_remove("SHIPIT_FLYCTL")
        .env_remove("FLY_API_TOKEN")
        .env("PATH", p.path())
        .output()
        .unwrap();
    let run = Run::from(out);
    run.code(0)
        .stdout_has("v1 deploy: exit 0")
        .stdout_has("v2 deploy: exit 3")
        .stdout_has("live now:  registry.fly.io/shipit-demo:v1")
        .stderr_has("health gate failed")
        .stderr_has("is live again and healthy");
    let log = std::fs::read_to_string(dir.join("feedback/deployment.md")).unwrap();
    assert!(log.contains("shipit-demo"), "{log}");
    assert_eq!(
        std::fs::read_dir(dir.join(".shipit/runs")).unwrap().count(),
        2,
        "one receipt per deploy"
    );
    let notices = std::fs::read_to_string(dir.join("notifications.jsonl")).unwrap();
    assert!(
        notices.lines().count() >= 4,
        "started and finished, twice: {notices}"
    );
    assert!(notices.contains("rolled_back"));
}
