//! `shipit db backup-check` end to end on a real server: a good dump passes, a dump missing a
//! table fails naming it, a truncated dump fails with a clear error, and the scratch database is
//! gone afterwards in every case, Ctrl-C included.

use std::process::Command;
use std::time::Duration;

use crate::db_verify::{Flavour, doc, migrated, project, server};
use crate::support::postgres::{PASSWORD, Postgres};
use crate::support::{Project, eventually};

const EXPECT: &str = "      expect: { tables: [picker_earnings, picker_payments], views: [picker_balances], rls: public }\n";

/// No database whose name starts with `shipit_scratch_` is left on the server.
fn no_scratch_left(pg: &Postgres) {
    let left: Vec<String> = pg
        .databases()
        .into_iter()
        .filter(|d| d.starts_with("shipit_scratch_"))
        .collect();
    assert!(left.is_empty(), "scratch databases left behind: {left:?}");
}

/// `backup-check` with the server's own pg_dump/pg_restore.
fn check(p: &Project, pg: &Postgres, args: &[&str]) -> crate::support::Run {
    let url = p.read(".env-db-url");
    let out = p
        .shipit(&[&["db", "backup-check", "staging"], args].concat())
        .env("STAGING_DB_URL", url)
        .env("SHIPIT_PG_DUMP", pg.client_tool("pg_dump"))
        .env("SHIPIT_PG_RESTORE", pg.client_tool("pg_restore"))
        .output()
        .expect("run shipit");
    crate::support::Run::from(out)
}

/// A dump made by hand with the server's pg_dump (`extra` arguments such as `-T TABLE`).
fn dump_by_hand(pg: &Postgres, db: &str, file: &std::path::Path, extra: &[&str]) {
    let out = Command::new(pg.client_tool("pg_dump"))
        .args(["-Fc", "--no-owner", "-f"])
        .arg(file)
        .args(extra)
        .arg(pg.url(db))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_good_backup_restores_and_compares_and_the_scratch_database_is_dropped() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    let p = project(&pg, "app", EXPECT);
    let r = check(&p, &pg, &["--json"]);
    r.code(0);
    let v = doc(&r)["backup_check"].clone();
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(v["dump_made"], true);
    assert_eq!(v["same_snapshot"], true);
    assert_eq!(v["scratch_dropped"], true);
    assert!(v["dump_bytes"].as_u64().unwrap() > 1000, "{v}");
    assert!(v["dump_ms"].is_u64() && v["restore_ms"].is_u64(), "{v}");
    assert!(v["pg_dump_version"].as_str().unwrap().contains("pg_dump"));
    assert_eq!(v["toc"]["tables"], 2, "{v}");
    assert_eq!(v["toc"]["views"], 1, "{v}");
    assert!(v["toc"]["policies"].as_u64().unwrap() >= 3, "{v}");
    let tables = v["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 2);
    let earnings = tables
        .iter()
        .find(|t| t["table"] == "public.picker_earnings")
        .unwrap();
    assert_eq!(earnings["source_rows"], 30);
    assert_eq!(earnings["copy_rows"], 30);
    no_scratch_left(&pg);
    // The dump shipit made is removed too.
    let left: Vec<_> = std::fs::read_dir(p.file(".shipit/backup-check"))
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");

    // Human output and the record; the password nowhere.
    let r = check(&p, &pg, &[]);
    r.code(0)
        .stdout_has("ok    public.picker_payments  source 15  copy 15")
        .stdout_has("(dropped: yes)")
        .stderr_has("backup-check staging: the backup restores");
    let log = p.read("feedback/deployment.md");
    assert!(log.contains("backup-check"), "{log}");
    for text in [&r.stdout, &r.stderr, &log] {
        assert!(!text.contains(PASSWORD), "the password leaked:\n{text}");
    }
    no_scratch_left(&pg);
}

#[test]
fn a_dump_missing_a_table_fails_naming_it_and_a_truncated_dump_fails_clearly() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    pg.psql(
        "app",
        "CREATE TABLE public.picker_tips (id bigint PRIMARY KEY, cents integer); \
         INSERT INTO public.picker_tips VALUES (1, 50), (2, 75); \
         ALTER TABLE public.picker_tips ENABLE ROW LEVEL SECURITY; \
         CREATE POLICY tips_none ON public.picker_tips FOR SELECT USING (false)",
    );
    let p = project(&pg, "app", EXPECT);
    let partial = p.file("partial.dump");
    dump_by_hand(&pg, "app", &partial, &["-T", "public.picker_tips"]);
    let r = check(&p, &pg, &["--dump", partial.to_str().unwrap()]);
    r.code(1)
        .stdout_has("table public.picker_tips is in the source but not in the restored copy")
        .stdout_has("FAIL  public.picker_tips  source 2  copy missing");
    no_scratch_left(&pg);

    // Cut in the table of contents: pg_restore --list refuses it; no scratch database at all.
    let whole = p.file("whole.dump");
    dump_by_hand(&pg, "app", &whole, &[]);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = p.file("cut.dump");
    std::fs::write(&cut, &bytes[..200]).unwrap();
    let r = check(&p, &pg, &["--dump", cut.to_str().unwrap()]);
    r.code(1).stderr_has("cut.dump cannot be read");
    assert!(
        r.stderr
            .contains("hint: it must be a whole `pg_dump -Fc` file"),
        "{}",
        r.stderr
    );
    no_scratch_left(&pg);

    // Cut in the data: the table of contents reads, the restore fails, the copy is dropped.
    let cut = p.file("cut-data.dump");
    std::fs::write(&cut, &bytes[..bytes.len() - 600]).unwrap();
    let r = check(&p, &pg, &["--dump", cut.to_str().unwrap()]);
    r.code(1);
    assert!(
        r.stdout
            .contains("the dump did not restore: pg_restore: error:")
            || r.stderr.contains("cut-data.dump cannot be read"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    no_scratch_left(&pg);

    // Not a file at all.
    check(&p, &pg, &["--dump", "nope.dump"])
        .code(1)
        .stderr_has("the dump nope.dump does not exist");
}

#[test]
fn rows_that_changed_since_a_given_dump_fail_unless_the_table_has_a_tolerance() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    let p = project(&pg, "app", EXPECT);
    let file = p.file("old.dump");
    dump_by_hand(&pg, "app", &file, &[]);
    pg.psql(
        "app",
        "INSERT INTO public.picker_payments (picker_id, earning_id, amount_cents) SELECT picker_id, id, 1 FROM public.picker_earnings WHERE id = 1",
    );
    check(&p, &pg, &["--dump", file.to_str().unwrap()])
        .code(1)
        .stdout_has("table public.picker_payments: 15 rows in the copy, 16 in the source");
    let p = project(
        &pg,
        "app",
        &format!("{EXPECT}      backup: {{ tolerance: {{ picker_payments: 0.1 }} }}\n"),
    );
    check(&p, &pg, &["--dump", file.to_str().unwrap()]).code(0);
    no_scratch_left(&pg);
}

#[test]
fn the_copy_must_hold_the_expected_objects_and_a_separate_scratch_server_is_used_when_given() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    let scratch = Postgres::start();
    // RLS off in the source: the copy has it off too, and the check says so.
    pg.psql(
        "app",
        "ALTER TABLE public.picker_earnings DISABLE ROW LEVEL SECURITY",
    );
    let p = project(&pg, "app", EXPECT);
    let r = check(&p, &pg, &["--scratch", &scratch.url("postgres"), "--json"]);
    r.code(1);
    let v = doc(&r)["backup_check"].clone();
    assert!(
        v["scratch"]
            .as_str()
            .unwrap()
            .starts_with(&format!("127.0.0.1:{}/shipit_scratch_", scratch.port)),
        "{v}"
    );
    let problems = v["problems"].to_string();
    assert!(
        problems.contains(
            "on the copy: public.picker_earnings: row-level security is required here and is off"
        ),
        "{problems}"
    );
    no_scratch_left(&scratch);
    no_scratch_left(&pg);
}

#[test]
fn ctrl_c_during_the_restore_drops_the_scratch_database_and_exits_130() {
    let pg = server(Flavour::Plain);
    migrated(&pg, Flavour::Plain, "app");
    let p = project(&pg, "app", EXPECT);
    // A pg_restore that announces itself and then waits, so the signal lands mid-restore; the
    // table-of-contents read goes straight to the real one.
    let marker = p.file("restore-started");
    p.write(
        "slow-pg-restore",
        &format!(
            "#!/bin/sh\ncase \"$1\" in --list) exec '{real}' \"$@\";; esac\ntouch '{marker}'\nsleep 60\nexec '{real}' \"$@\"\n",
            real = pg.client_tool("pg_restore").display(),
            marker = marker.display()
        ),
    );
    let script = p.file("slow-pg-restore");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let url = p.read(".env-db-url");
    let child = p
        .shipit(&["db", "backup-check", "staging"])
        .env("STAGING_DB_URL", url)
        .env("SHIPIT_PG_DUMP", pg.client_tool("pg_dump"))
        .env("SHIPIT_PG_RESTORE", &script)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(60), || marker.exists()),
        "the restore never started"
    );
    assert!(
        pg.databases()
            .iter()
            .any(|d| d.starts_with("shipit_scratch_")),
        "the scratch database exists while the restore runs"
    );
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("dropped the scratch database"), "{stderr}");
    no_scratch_left(&pg);
}
