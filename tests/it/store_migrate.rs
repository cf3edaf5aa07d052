//! `shipit store migrate --from local` through the real binary, into a git record (a bare
//! "remote" and a clone) and a postgres record (a server the test starts): everything local is
//! copied once, evidence entries as they were written, and a second run copies nothing.

use shipit::evidence::log;
use shipit::store::local::LocalStore;
use shipit::store::{AlertKey, AlertState, Promotion, Store};

use crate::notify::rolled_back;
use crate::store::{block_on, clone_into, git};
use crate::support::Project;
use crate::support::postgres::Postgres;

const IDS: [&str; 3] = [
    "20261127T100000Z-aaaa",
    "20261127T110000Z-bbbb",
    "20261127T120000Z-cccc",
];

/// Three runs, an entry whose receipt is gone, an open alert and a promotion, in the project's
/// local files (written by shipit's own local store, as deploys left them).
fn local_record(p: &Project) -> LocalStore {
    let local = LocalStore::new(&shipit::evidence::settings_for(&p.file("shipit.yml")).unwrap());
    block_on(async {
        for (i, id) in IDS.iter().enumerate() {
            let mut r = rolled_back();
            r.id = (*id).to_owned();
            r.started_at = format!("2026-11-27T1{i}:00:00Z");
            r.finished_at = format!("2026-11-27T1{i}:01:00Z");
            local.append_run(&r).await.unwrap();
        }
        let mut gone = rolled_back();
        gone.id = "20261127T090000Z-gone".into();
        log::append(local.log_path(), &log::entry(&gone)).unwrap();
        let key = AlertKey {
            env: "staging".into(),
            app: "hotdash-staging".into(),
            rule: "http_5xx".into(),
        };
        let state = AlertState {
            level: "critical".into(),
            open: true,
            first_seen: "2026-11-27T10:00:00Z".into(),
            last_seen: "2026-11-27T10:05:00Z".into(),
            ..AlertState::default()
        };
        local.put_alert(&key, None, Some(&state)).await.unwrap();
        local.add_promotion(&promotion()).await.unwrap();
    });
    local
}

fn promotion() -> Promotion {
    Promotion {
        env: "staging".into(),
        service: "web".into(),
        app: "hotdash-staging".into(),
        image: "registry.fly.io/hotdash-staging:deployment-v3".into(),
        version: Some(3),
        run_id: IDS[0].into(),
        at: "2026-11-27T10:01:00Z".into(),
        all_gates_passed: true,
        proved_by: None,
    }
}

/// The local log's entries, as text, by id.
fn local_entries(p: &Project) -> Vec<(String, String)> {
    log::entries(&p.read("feedback/deployment.md"))
        .into_iter()
        .map(|e| (e.id, e.body))
        .collect()
}

fn history_ids(p: &Project) -> Vec<String> {
    let h = p.run(&["history", "--json"]);
    h.code(0);
    h.json()["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn newest_first() -> Vec<String> {
    IDS.iter().rev().map(|s| (*s).to_owned()).collect()
}

#[test]
fn migrate_into_git_copies_everything_once_and_never_touches_the_checkout() {
    let p = Project::new();
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--quiet", "--bare", "-b", "main"]);
    clone_into(remote.path(), p.path());
    p.config("version: 1\n");
    local_record(&p);
    let before = local_entries(&p);
    p.config("version: 1\nstore: { git: {} }\n");
    let head = git(p.path(), &["rev-parse", "HEAD"]);

    let first = p.run(&["store", "migrate", "--from", "local"]);
    first
        .code(0)
        .stderr_has("copied 3 runs, 1 alert state and 1 promotion into git (branch shipit-records of origin)")
        .stderr_has("not copied: 1 evidence entry without a receipt (20261127T090000Z-gone)");
    assert_eq!(history_ids(&p), newest_first(), "history reads the branch");
    let on_branch = git(
        remote.path(),
        &["show", "shipit-records:feedback/deployment.md"],
    );
    let copied: Vec<(String, String)> = log::entries(&on_branch)
        .into_iter()
        .map(|e| (e.id, e.body))
        .collect();
    let expected: Vec<(String, String)> = before
        .into_iter()
        .filter(|(id, _)| IDS.contains(&id.as_str()))
        .collect();
    assert_eq!(
        copied, expected,
        "the entries as they were written, oldest first"
    );
    let files = git(
        remote.path(),
        &["ls-tree", "-r", "--name-only", "shipit-records"],
    );
    assert!(
        files.contains("alerts/staging/hotdash-staging/http_5xx.json"),
        "{files}"
    );
    assert_eq!(files.matches("promotions/").count(), 1, "{files}");
    let tip = git(remote.path(), &["rev-parse", "shipit-records"]);

    let second = p.run(&["store", "migrate", "--from", "local"]);
    second.code(0).stderr_has(
        "nothing to copy: git (branch shipit-records of origin) already holds 3 runs, 1 alert state and 1 promotion of local",
    );
    assert_eq!(
        git(remote.path(), &["rev-parse", "shipit-records"]),
        tip,
        "a second run writes nothing"
    );
    assert_eq!(git(p.path(), &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git(p.path(), &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    // The local files are left as they were.
    assert_eq!(
        std::fs::read_dir(p.file(".shipit/runs")).unwrap().count(),
        3
    );
}

#[test]
fn migrate_into_postgres_copies_everything_once() {
    let pg = Postgres::start();
    let p = Project::new();
    p.config("version: 1\n");
    local_record(&p);
    let before = local_entries(&p);
    // The URL comes from the environment, as the README tells users to write it.
    p.config("version: 1\nstore: { postgres: { url: \"${SHIPIT_STORE_URL}\" } }\n");
    let migrate = |json: bool| {
        let mut args = vec!["store", "migrate", "--from", "local"];
        if json {
            args.push("--json");
        }
        let out = p
            .shipit(&args)
            .env("SHIPIT_STORE_URL", pg.url("postgres"))
            .output()
            .unwrap();
        crate::support::Run::from(out)
    };
    let first = migrate(true);
    first.code(0);
    let doc = first.json();
    assert_eq!(doc["runs"], serde_json::json!({"copied": 3, "present": 0}));
    assert_eq!(
        doc["alerts"],
        serde_json::json!({"copied": 1, "present": 0})
    );
    assert_eq!(
        doc["promotions"],
        serde_json::json!({"copied": 1, "present": 0})
    );
    assert_eq!(
        doc["entries_without_receipt"],
        serde_json::json!(["20261127T090000Z-gone"])
    );
    assert!(
        !first.stdout.contains(crate::support::postgres::PASSWORD)
            && !first.stderr.contains(crate::support::postgres::PASSWORD)
    );
    let count = |table: &str| {
        pg.psql("postgres", &format!("SELECT count(*) FROM shipit.{table}"))
            .trim()
            .to_owned()
    };
    assert_eq!(
        [
            count("runs"),
            count("evidence"),
            count("alerts"),
            count("promotions")
        ],
        ["3", "3", "1", "1"].map(str::to_owned)
    );
    let entry = pg.psql(
        "postgres",
        &format!(
            "SELECT entry FROM shipit.evidence WHERE run_id = '{}'",
            IDS[1]
        ),
    );
    let local = &before.iter().find(|(id, _)| id == IDS[1]).unwrap().1;
    assert!(
        entry.contains(local.trim()),
        "the entry as it was written:\n{entry}\n---\n{local}"
    );

    let second = migrate(false);
    second
        .code(0)
        .stderr_has("nothing to copy: postgres (127.0.0.1:")
        .stderr_has("already holds 3 runs, 1 alert state and 1 promotion of local");
    assert_eq!(
        [
            count("runs"),
            count("evidence"),
            count("alerts"),
            count("promotions")
        ],
        ["3", "3", "1", "1"].map(str::to_owned),
        "a second run copies nothing"
    );
    let ids: Vec<String> = {
        let out = p
            .shipit(&["history", "--json"])
            .env("SHIPIT_STORE_URL", pg.url("postgres"))
            .output()
            .unwrap();
        let run = crate::support::Run::from(out);
        run.code(0);
        run.json()["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids, newest_first());
}

#[test]
fn migrate_needs_a_store_to_copy_into_and_a_known_source() {
    let p = Project::new();
    p.config("version: 1\n");
    local_record(&p);
    p.run(&["store", "migrate", "--from", "local"])
        .code(1)
        .stderr_has("keeps the record in local files already")
        .stderr_has("hint: set `store:`");
    p.run(&["store", "migrate", "--from", "git"]).code(2);
    p.run(&["store", "migrate"]).code(2);
}
