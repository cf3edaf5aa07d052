//! The migration lint (`shipit db lint-migrations`, and the deploy's step before `flyctl
//! deploy`) with the real squawk from PyPI (`squawk-cli`): dangerous files are named with
//! squawk's findings, files the database's ledger has applied are left out, and without squawk
//! it is a notice, never a refusal.

use crate::db_verify::{Flavour, migrated, project, server};
use crate::support::Project;
use crate::support::postgres::Postgres;

/// squawk on this machine; a missing one is a test-setup failure, never a skip.
pub fn squawk() -> std::path::PathBuf {
    which_squawk().unwrap_or_else(|| {
        panic!("test setup: squawk is not installed: `pip install squawk-cli` (or set SHIPIT_TEST_SQUAWK)")
    })
}

fn which_squawk() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("SHIPIT_TEST_SQUAWK") {
        return Some(p.into());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("squawk"))
            .find(|p| p.is_file())
    })
}

pub const SAFE: &str =
    "CREATE TABLE IF NOT EXISTS public.picker_tips (id bigint PRIMARY KEY, cents integer);\n";
pub const DANGEROUS: &str = "ALTER TABLE public.picker_payments ADD COLUMN note text NOT NULL;\nCREATE INDEX picker_payments_paid_at_idx ON public.picker_payments (paid_at);\n";

/// A project with `migrations:` whose files are `files`.
pub fn with_migrations(pg: &Postgres, db: &str, files: &[(&str, &str)]) -> Project {
    let p = project(pg, db, "      migrations: supabase/migrations\n");
    for (name, sql) in files {
        p.write(&format!("supabase/migrations/{name}"), sql);
    }
    p
}

fn lint(p: &Project, squawk: Option<&std::path::Path>) -> crate::support::Run {
    let url = p.read(".env-db-url");
    let mut cmd = p.shipit(&["db", "lint-migrations"]);
    cmd.env("STAGING_DB_URL", url);
    match squawk {
        Some(s) => {
            cmd.env("SHIPIT_SQUAWK", s);
        }
        None => {
            // Nothing on PATH: squawk cannot be found.
            cmd.env_remove("SHIPIT_SQUAWK")
                .env("PATH", p.file("empty-bin"));
        }
    }
    crate::support::Run::from(cmd.output().expect("run shipit"))
}

#[test]
fn a_dangerous_migration_is_named_with_squawks_findings_and_a_safe_one_passes() {
    let squawk = squawk();
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    let p = with_migrations(
        &pg,
        "app",
        &[
            ("20260101000000_tips.sql", SAFE),
            ("20260102000000_note.sql", DANGEROUS),
        ],
    );
    let r = lint(&p, Some(&squawk));
    r.code(1)
        .stdout_has("20260102000000_note.sql:1: adding-required-field:")
        .stdout_has("20260102000000_note.sql:2: require-concurrent-index-creation:")
        .stderr_has("these migrations would refuse the deploy");
    assert!(
        !r.stdout.contains("prefer-robust-stmts"),
        "style rules are left out:\n{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("20260101000000_tips.sql"),
        "{}",
        r.stdout
    );

    // Once the ledger says the dangerous file is applied, only new files are linted.
    pg.psql(
        "app",
        "CREATE SCHEMA supabase_migrations; \
         CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, name text); \
         INSERT INTO supabase_migrations.schema_migrations VALUES ('20260102000000', 'note')",
    );
    let r = lint(&p, Some(&squawk));
    r.code(0)
        .stderr_has("migration lint: 20260101000000_tips.sql clean");
}

#[test]
fn without_squawk_the_lint_is_a_notice_and_never_a_refusal() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    let p = with_migrations(&pg, "app", &[("20260102000000_note.sql", DANGEROUS)]);
    std::fs::create_dir_all(p.file("empty-bin")).unwrap();
    lint(&p, None)
        .code(0)
        .stderr_has("squawk is not installed: the migrations in")
        .stderr_has("were not linted (pip install squawk-cli)");
}

#[test]
fn a_missing_migrations_folder_is_a_config_error_naming_it() {
    let pg = server(Flavour::Plain);
    let p = project(&pg, "postgres", "      migrations: supabase/migrations\n");
    crate::db_verify::run(&p, &["config", "check"])
        .code(1)
        .stderr_has("migrations folder `supabase/migrations` does not exist");
}
