//! `shipit db verify` against a real PostgreSQL server: the operator's migration clean and with
//! planted faults, on plain PostgreSQL and with Supabase's roles, through the real binary.

use serde_json::Value;

use crate::support::Project;
use crate::support::postgres::{PASSWORD, Postgres};

pub const SUPABASE_ROLES: &str = include_str!("db_fixtures/supabase_roles.sql");
pub const MIGRATION: &str = include_str!("db_fixtures/migration.sql");
const FAULTS: &str = include_str!("db_fixtures/faults.sql");

/// Plain PostgreSQL or Supabase: which roles exist, and how a policy names the signed-in picker.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flavour {
    Plain,
    Supabase,
}

impl Flavour {
    fn fill(self, sql: &str) -> String {
        let (uid, bare) = match self {
            Flavour::Plain => (
                "(SELECT current_setting('app.picker_id', true)::uuid)",
                "current_setting('app.picker_id', true)::uuid",
            ),
            Flavour::Supabase => ("(SELECT auth.uid())", "auth.uid()"),
        };
        sql.replace("{{uid}}", uid).replace("{{bare_uid}}", bare)
    }
}

/// A server with the Supabase roles when asked (roles are per server).
pub fn server(flavour: Flavour) -> Postgres {
    let pg = Postgres::start();
    if flavour == Flavour::Supabase {
        pg.psql("template1", SUPABASE_ROLES);
    }
    pg
}

/// Creates database `name` with the clean migration applied.
pub fn migrated(pg: &Postgres, flavour: Flavour, name: &str) {
    pg.create_db(name);
    pg.psql(name, &flavour.fill(MIGRATION));
}

/// The planted faults: (lint, key prefix, SQL).
fn faults(flavour: Flavour) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for block in FAULTS.split("-- fault: ").skip(1) {
        let (head, sql) = block.split_once('\n').unwrap();
        let (lint, key) = head.trim().split_once(' ').unwrap();
        out.push((lint.to_owned(), key.to_owned(), flavour.fill(sql)));
    }
    assert_eq!(out.len(), 12, "one planted fault per lint");
    out
}

/// A project whose staging database is `db` on `pg`, with `extra` YAML inside `database:`.
pub fn project(pg: &Postgres, db: &str, extra: &str) -> Project {
    let p = Project::new();
    p.config(&format!(
        "version: 1\napps:\n  web: {{}}\nenvironments:\n  staging:\n    web: {{ app: hotdash-staging, url: \"http://127.0.0.1:9\" }}\n    database:\n      url: \"${{STAGING_DB_URL}}\"\n{extra}"
    ));
    p.write(".env-db-url", &pg.url(db));
    p
}

/// Runs `shipit ARGS` with the database URL in the environment, as a job would.
pub fn run(p: &Project, args: &[&str]) -> crate::support::Run {
    let url = p.read(".env-db-url");
    let out = p
        .shipit(args)
        .env("STAGING_DB_URL", url)
        .output()
        .expect("run shipit");
    crate::support::Run::from(out)
}

/// stdout as JSON, showing stderr when it is not.
pub fn doc(r: &crate::support::Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
            r.stdout, r.stderr
        )
    })
}

fn findings(v: &Value) -> Vec<(String, String)> {
    v["verification"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["lint"].as_str().unwrap().to_owned(),
                f["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Each planted fault, in its own copy of the clean migration, is found by its lint and by
/// nothing else; the clean migration has no finding at all.
fn each_fault_alone(flavour: Flavour) {
    let pg = server(flavour);
    migrated(&pg, flavour, "clean");
    let p = project(&pg, "clean", "");
    let r = run(&p, &["db", "verify", "staging", "--json"]);
    r.code(0);
    let v = doc(&r);
    assert_eq!(
        findings(&v),
        vec![],
        "the clean migration has no finding ({flavour:?})"
    );
    assert_eq!(v["verification"]["read_only"], true);
    let roles = v["verification"]["server"]["api_roles"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(roles, if flavour == Flavour::Supabase { 2 } else { 0 });

    for (i, (lint, key, sql)) in faults(flavour).into_iter().enumerate() {
        let db = format!("fault_{i}");
        migrated(&pg, flavour, &db);
        pg.psql(&db, &sql);
        let p = project(&pg, &db, "");
        let r = run(&p, &["db", "verify", "staging", "--json"]);
        let v = doc(&r);
        let found = findings(&v);
        assert!(
            !found.is_empty(),
            "{lint} ({flavour:?}): not found\n{}",
            r.stderr
        );
        for (l, k) in &found {
            assert_eq!(
                l, &lint,
                "{lint} ({flavour:?}): another lint fired: {found:?}"
            );
            assert!(
                k.starts_with(&key),
                "{lint} ({flavour:?}): key {k} lacks prefix {key}"
            );
        }
        let level = v["verification"]["findings"][0]["level"].as_str().unwrap();
        assert_eq!(
            r.code,
            if level == "ERROR" { 1 } else { 0 },
            "{lint}: exit code follows the level"
        );
    }
}

#[test]
fn on_plain_postgres_each_planted_fault_is_found_by_its_lint_alone_and_the_clean_migration_by_none()
{
    each_fault_alone(Flavour::Plain);
}

#[test]
fn with_supabase_roles_each_planted_fault_is_found_by_its_lint_alone_and_the_clean_migration_by_none()
 {
    each_fault_alone(Flavour::Supabase);
}

#[test]
fn all_faults_at_once_are_listed_exactly_with_level_remedy_and_key_and_exit_1() {
    let flavour = Flavour::Plain;
    let pg = server(flavour);
    migrated(&pg, flavour, "app");
    for (_, _, sql) in faults(flavour) {
        pg.psql("app", &sql);
    }
    let p = project(&pg, "app", "");
    let r = run(&p, &["db", "verify", "staging", "--json"]);
    r.code(1);
    let v = doc(&r);
    let mut lints: Vec<String> = findings(&v).into_iter().map(|(l, _)| l).collect();
    lints.sort();
    let mut expected: Vec<String> = faults(flavour).into_iter().map(|(l, _, _)| l).collect();
    expected.sort();
    assert_eq!(lints, expected, "exactly one finding per planted fault");
    for f in v["verification"]["findings"].as_array().unwrap() {
        for field in ["level", "object", "detail", "remedy", "key"] {
            assert!(!f[field].as_str().unwrap().is_empty(), "{field} in {f}");
        }
    }
    // ERROR findings come first.
    assert_eq!(v["verification"]["findings"][0]["level"], "ERROR");

    // Human output: one line per finding with its remedy and key on stdout; the read-only
    // transaction and its timeout said on stderr; the URL's password nowhere.
    let r = run(&p, &["db", "verify", "staging"]);
    r.code(1)
        .stdout_has("ERROR  rls_disabled_in_public  public.picker_notes")
        .stdout_has("remedy: ALTER TABLE ... ENABLE ROW LEVEL SECURITY")
        .stdout_has("key: no_primary_key_public_picker_events")
        .stderr_has("read-only transaction, statement timeout 10s");
    for text in [&r.stdout, &r.stderr, &p.read("feedback/deployment.md")] {
        assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    }
    let log = p.read("feedback/deployment.md");
    assert!(
        log.contains("rls_disabled_in_public"),
        "evidence entry:\n{log}"
    );
}

#[test]
fn ignore_by_key_and_fail_on_decide_what_is_reported_and_the_exit_code() {
    let flavour = Flavour::Plain;
    let pg = server(flavour);
    migrated(&pg, flavour, "app");
    let all = faults(flavour);
    // rls_disabled_in_public (ERROR) and duplicate_index (WARN).
    pg.psql("app", &all[0].2);
    pg.psql("app", &all[10].2);
    let p = project(
        &pg,
        "app",
        "      lints: { ignore: [rls_disabled_in_public_public_picker_notes] }\n",
    );
    let r = run(&p, &["db", "verify", "--json"]);
    r.code(0);
    let v = doc(&r);
    assert_eq!(findings(&v).len(), 1, "{v}");
    assert_eq!(
        v["verification"]["ignored"][0],
        "rls_disabled_in_public_public_picker_notes"
    );

    let p = project(
        &pg,
        "app",
        "      lints: { ignore: [rls_disabled_in_public], fail_on: warn }\n",
    );
    run(&p, &["db", "verify"])
        .code(1)
        .stdout_has("WARN   duplicate_index");

    let p = project(&pg, "app", "      lints: [no_primary_key]\n");
    run(&p, &["db", "verify"]).code(0).stdout_has("no findings");
}

#[test]
fn expectations_name_the_missing_table_view_and_column_and_tables_without_rls() {
    let flavour = Flavour::Plain;
    let pg = server(flavour);
    migrated(&pg, flavour, "app");
    let expect = "      expect:\n        tables: [picker_earnings, picker_payments, picker_refunds]\n        views: [picker_balances, public.picker_history]\n        columns: { picker_payments: [amount_cents, currency] }\n        rls: public\n      lints: off\n";
    let p = project(&pg, "app", expect);
    let r = run(&p, &["db", "verify", "--json"]);
    r.code(1);
    let keys: Vec<String> = findings(&doc(&r)).into_iter().map(|(_, k)| k).collect();
    assert_eq!(
        keys,
        vec![
            "expected_column_missing_public_picker_payments_currency",
            "expected_table_missing_public_picker_refunds",
            "expected_view_missing_public_picker_history",
        ]
    );
    pg.psql(
        "app",
        "CREATE TABLE public.picker_refunds (id bigint PRIMARY KEY); \
         CREATE VIEW public.picker_history WITH (security_invoker = on) AS SELECT 1 AS x; \
         ALTER TABLE public.picker_payments ADD COLUMN currency text; \
         ALTER TABLE public.picker_earnings DISABLE ROW LEVEL SECURITY",
    );
    let r = run(&p, &["db", "verify", "--json"]);
    r.code(1);
    let keys: Vec<String> = findings(&doc(&r)).into_iter().map(|(_, k)| k).collect();
    assert_eq!(
        keys,
        vec![
            "rls_required_public_picker_earnings",
            "rls_required_public_picker_refunds"
        ]
    );
    pg.psql(
        "app",
        "ALTER TABLE public.picker_earnings ENABLE ROW LEVEL SECURITY; \
         ALTER TABLE public.picker_refunds ENABLE ROW LEVEL SECURITY",
    );
    let r = run(&p, &["db", "verify", "--json"]);
    let keys: Vec<String> = findings(&doc(&r)).into_iter().map(|(_, k)| k).collect();
    assert_eq!(keys, vec!["rls_required_no_policy_public_picker_refunds"]);
    pg.psql(
        "app",
        "CREATE POLICY refunds_none ON public.picker_refunds FOR SELECT USING (false)",
    );
    run(&p, &["db", "verify"]).code(0).stdout_has("no findings");
}

#[test]
fn with_supabase_roles_only_what_the_api_can_read_and_the_exposed_schemas_count() {
    let flavour = Flavour::Supabase;
    let pg = server(flavour);
    migrated(&pg, flavour, "app");
    // Not granted to anon/authenticated: the API cannot read it, so no RLS finding.
    pg.psql(
        "app",
        "CREATE TABLE public.job_queue (id bigint PRIMARY KEY); \
         REVOKE ALL ON public.job_queue FROM anon, authenticated",
    );
    let p = project(&pg, "app", "");
    let r = run(&p, &["db", "verify", "--json"]);
    r.code(0);
    assert_eq!(findings(&doc(&r)), vec![]);
    // A schema PostgREST exposes (pgrst.db_schemas) is checked like public.
    pg.psql(
        "app",
        "CREATE SCHEMA api; GRANT USAGE ON SCHEMA api TO anon; \
         CREATE TABLE api.picker_feed (id bigint PRIMARY KEY); GRANT SELECT ON api.picker_feed TO anon; \
         ALTER DATABASE app SET pgrst.db_schemas = 'public, api'",
    );
    let r = run(&p, &["db", "verify", "--json"]);
    r.code(1);
    let v = doc(&r);
    assert_eq!(
        findings(&v),
        vec![(
            "rls_disabled_in_public".to_owned(),
            "rls_disabled_in_public_api_picker_feed".to_owned()
        )]
    );
    assert_eq!(
        v["verification"]["server"]["exposed_schemas"],
        serde_json::json!(["public", "api"])
    );
}

#[test]
fn verify_reads_in_a_read_only_transaction_and_a_bad_config_or_server_is_a_clear_error() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    // The queries it sends: every one a SELECT (plus the facts query).
    let p = project(&pg, "app", "");
    let r = run(&p, &["db", "verify", "--print-sql"]);
    r.code(0);
    assert_eq!(r.stdout.matches(';').count(), 13, "{}", r.stdout);
    for statement in r.stdout.split(';').filter(|s| !s.trim().is_empty()) {
        let first = statement.split_whitespace().next().unwrap();
        assert!(first == "SELECT" || first == "WITH", "{statement}");
    }
    // An unknown lint is named with a suggestion.
    let p = project(&pg, "app", "      lints: [rls_disabled_in_publik]\n");
    run(&p, &["db", "verify"])
        .code(1)
        .stderr_has("unknown database lint `rls_disabled_in_publik`")
        .stderr_has("did you mean `rls_disabled_in_public`?");
    // A server that does not answer: named by host, never by URL.
    let p = project(&pg, "app", "");
    p.write(
        ".env-db-url",
        &pg.url("app").replace(&pg.port.to_string(), "1"),
    );
    let r = run(&p, &["db", "verify"]);
    r.code(1)
        .stderr_has("cannot connect to the staging database at 127.0.0.1:1/app");
    assert!(!r.stderr.contains(PASSWORD));
    // `database` is not a service name.
    let p = Project::new();
    p.config("version: 1\napps:\n  web: {}\nenvironments:\n  staging:\n    web: { app: a, url: \"http://127.0.0.1:9\" }\n    database: { url: \"postgres://u@h/d\", expct: {} }\n");
    p.run(&["config", "check"]).code(1).stderr_has("expct");
}
