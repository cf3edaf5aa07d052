//! The database in the pipeline (`gates: { database: true }`): a release whose `db verify`
//! fails is rolled back (exit 3) with the schema sentence, and a dangerous migration refuses the
//! deploy before any `flyctl deploy` call. The real binary, the flyctl double, a health endpoint
//! on 127.0.0.1 and a real PostgreSQL server.

use serde_json::json;

use crate::db_migrations::{DANGEROUS, squawk};
use crate::db_verify::{Flavour, migrated, server};
use crate::support::fleet::FleetServer;
use crate::support::postgres::{PASSWORD, Postgres};
use crate::support::server::Behaviour;
use crate::support::{Project, Run, fly_app};

const APP: &str = "hotdash-staging";
const GOOD: &str = "registry.fly.io/hotdash-staging:deployment-v3";
const NEW: &str = "registry.fly.io/hotdash-staging:new";

/// staging/web live on GOOD, every image healthy, the database gate on for `db` on `pg`.
fn project(pg: &Postgres, db: &str, database_extra: &str) -> (Project, FleetServer) {
    let p = Project::new();
    p.fly_state(&json!({"apps": {APP: fly_app(APP, 3, GOOD, 2)}, "deploys": []}));
    let fleet = FleetServer::start(p.file("flyctl-state.json"), APP, |_, _| {
        Behaviour::ok("{\"ok\":true}")
    });
    p.fly_toml("fly/hotdash-staging.toml", APP);
    p.config(&format!(
        "version: 1\ndefaults:\n  health: {{ path: /health, interval: 50ms, timeout: 500ms, healthy_after: 3, unhealthy_after: 3, deadline: 3s }}\n  regression: {{ probes: 3 }}\n  deploy_timeout: 30s\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: {APP}, url: \"{}\", fly_config: fly/hotdash-staging.toml }}\n    database:\n      url: \"${{STAGING_DB_URL}}\"\n{database_extra}gates: {{ database: true }}\n",
        fleet.url()
    ));
    p.write(".env-db-url", &pg.url(db));
    (p, fleet)
}

fn deploy(p: &Project, squawk: Option<&std::path::Path>) -> Run {
    let mut cmd = p.shipit(&["deploy", "staging", "--image", NEW]);
    cmd.env("STAGING_DB_URL", p.read(".env-db-url"));
    if let Some(s) = squawk {
        cmd.env("SHIPIT_SQUAWK", s);
    }
    Run::from(cmd.output().expect("run shipit"))
}

#[test]
fn a_release_whose_database_gate_fails_is_rolled_back_and_the_schema_sentence_is_said() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    // The "migration" the release ran left a table readable with RLS off.
    pg.psql(
        "app",
        "CREATE TABLE public.picker_notes (id bigint PRIMARY KEY, note text)",
    );
    let (p, _fleet) = project(&pg, "app", "");
    let r = deploy(&p, None);
    r.code(3)
        .stderr_has("database gate failed: 1 ERROR")
        .stderr_has("rls_disabled_in_public")
        .stderr_has("the database schema was NOT rolled back");
    assert_eq!(p.deploy_calls().len(), 2, "the deploy and the rollback");
    for text in [&r.stdout, &r.stderr, &p.read("feedback/deployment.md")] {
        assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    }

    // The clean database passes the same gate.
    pg.psql("app", "DROP TABLE public.picker_notes");
    let (p, _fleet) = project(&pg, "app", "");
    deploy(&p, None).code(0).stderr_has("passed every gate");
}

#[test]
fn a_dangerous_migration_never_calls_flyctl_deploy() {
    let squawk = squawk();
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    let (p, _fleet) = project(&pg, "app", "      migrations: supabase/migrations\n");
    p.write("supabase/migrations/20260102000000_note.sql", DANGEROUS);
    deploy(&p, Some(&squawk))
        .code(1)
        .stderr_has("adding-required-field")
        .stderr_has("the migration lint found");
    assert!(p.deploy_calls().is_empty(), "{:?}", p.fly_calls());

    // `plan` shows the step.
    let r = p
        .shipit(&["plan", "staging"])
        .env("STAGING_DB_URL", p.read(".env-db-url"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains("migration lint: squawk over the new files of"),
        "{out}"
    );
    assert!(
        out.contains("database gate: db verify (read-only transaction"),
        "{out}"
    );
}
