//! `--show-settings`: a command's settings, with what its flags resolve to against the config
//! where they merge with it.

use serde_json::json;

use crate::support::{Project, fly_app};

const APP: &str = "hotdash-staging";

fn project() -> Project {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, "registry.fly.io/hotdash-staging:deployment-v3", 1)}}));
    p.fly_toml("fly/web.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  regression: {{ probes: 4 }}\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"http://127.0.0.1:9\", fly_config: fly/web.toml }}\n"
    ));
    p
}

#[test]
fn baseline_probes_resolve_against_the_config_in_settings() {
    // `--probes` over each service's `regression.probes`: the merge is the settings layer's,
    // so `--show-settings` shows what the command will do.
    let p = project();
    let doc = p
        .run(&["--show-settings", "baseline", "staging"])
        .code(0)
        .json();
    assert_eq!(doc["resolved"][0]["app"], APP, "{}", doc["resolved"]);
    assert_eq!(doc["resolved"][0]["probes"], 4, "{}", doc["resolved"]);
    let doc = p
        .run(&["--show-settings", "baseline", "staging", "--probes", "7"])
        .code(0)
        .json();
    assert_eq!(doc["resolved"][0]["probes"], 7, "{}", doc["resolved"]);
}
