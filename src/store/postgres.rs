//! `store: { postgres: { url } }`: the record as tables in schema `shipit` of a `PostgreSQL`
//! database (e.g. the team's Supabase), created and migrated by shipit itself.
//!
//! Tables: `runs` (one row per run: the receipt and the columns history filters on), `evidence`
//! (the Markdown entry of each run), `targets` (rollback targets), `alerts` (one row per key,
//! with a version for compare-and-set and a tombstone on delete), `promotions` (append-only),
//! `locks` (who holds an app's deploy lock, for the message a second deploy sees) and `meta`
//! (`schema_version`). The deploy lock itself is `pg_try_advisory_lock` on a connection of its
//! own, held for the whole deploy: a dead runner's lock dies with its connection.
//!
//! Statements go through `query_typed` (the unnamed statement, types given), so a pooler in
//! transaction mode (Supabase's port 6543) works for everything but the session lock, which
//! needs a session: the direct URL or the session pooler (port 5432).
//!
//! **Invariant:** a run's receipt and evidence entry are inserted in one transaction: a reader
//! sees both or neither. A compare-and-set is one conditional `UPDATE`/`INSERT`, so two
//! writers can never both win.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use super::{
    AlertKey, AlertState, Cas, Import, LockGuard, LockHolder, Locked, Promotion, RunList, RunQuery,
    Store, StoreFuture, Versioned,
};
use crate::evidence::{log, receipt};
use crate::pg;
use crate::report::RunRecord;

/// The schema version this shipit writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// How often a deploy waiting for a held lock (`--wait-lock`) asks again.
const LOCK_POLL: Duration = Duration::from_millis(250);

/// Version 1: every table of the record.
const SCHEMA_V1: &str = "
CREATE TABLE shipit.runs (
    id text PRIMARY KEY,
    started_at text NOT NULL,
    kind text NOT NULL,
    env text,
    names text[] NOT NULL,
    envs text[] NOT NULL,
    receipt text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_newest ON shipit.runs (started_at DESC, id DESC);
CREATE TABLE shipit.evidence (
    run_id text PRIMARY KEY REFERENCES shipit.runs (id),
    entry text NOT NULL,
    seq bigserial NOT NULL
);
CREATE TABLE shipit.targets (
    app text PRIMARY KEY,
    target text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shipit.alerts (
    env text NOT NULL,
    app text NOT NULL,
    rule text NOT NULL,
    version bigint NOT NULL,
    state text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (env, app, rule)
);
CREATE TABLE shipit.promotions (
    seq bigserial PRIMARY KEY,
    env text NOT NULL,
    service text NOT NULL,
    promotion text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promotions_by_env ON shipit.promotions (env, service, seq DESC);
CREATE TABLE shipit.locks (
    app text PRIMARY KEY,
    holder text NOT NULL,
    taken_at timestamptz NOT NULL DEFAULT now()
);
";

/// The record in a `PostgreSQL` database. Connects (and checks or migrates the schema) on first
/// use, so opening it never fails for a database that is down: the first read or write does.
pub struct PostgresStore {
    target: pg::Target,
    client: Mutex<Option<Client>>,
}

impl PostgresStore {
    /// Parses the URL (its password becomes a secret) without connecting.
    pub fn new(url: &str) -> anyhow::Result<PostgresStore> {
        Ok(PostgresStore {
            target: pg::parse(url)?,
            client: Mutex::new(None),
        })
    }

    /// Runs `work` with a connected client whose schema is current.
    async fn with_client<T>(
        &self,
        work: impl AsyncFnOnce(&mut Client) -> Result<T, tokio_postgres::Error>,
    ) -> anyhow::Result<T> {
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_none_or(Client::is_closed) {
            let mut client = pg::connect(&self.target, "the record").await?;
            migrate(&mut client, &self.describe()).await?;
            *slot = Some(client);
        }
        let client = slot.as_mut().expect("connected above");
        match work(client).await {
            Ok(v) => Ok(v),
            Err(e) => {
                if client.is_closed() {
                    *slot = None;
                }
                Err(pg::describe(&e)).with_context(|| format!("the record in {}", self.describe()))
            }
        }
    }
}

/// Creates the schema or brings it to [`SCHEMA_VERSION`], under a transaction-scoped advisory
/// lock so two first runs never race; refuses a schema newer than this shipit.
async fn migrate(client: &mut Client, shown: &str) -> anyhow::Result<()> {
    let run = async {
        let tx = client.transaction().await?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(hashtext('shipit'), hashtext('schema'));
             CREATE SCHEMA IF NOT EXISTS shipit;
             CREATE TABLE IF NOT EXISTS shipit.meta (key text PRIMARY KEY, value text NOT NULL);",
        )
        .await?;
        let row = tx
            .query_typed_opt(
                "SELECT value FROM shipit.meta WHERE key = 'schema_version'",
                &[],
            )
            .await?;
        let found: Option<i64> = row.and_then(|r| r.get::<_, String>(0).parse().ok());
        let version = found.unwrap_or(0);
        if version > SCHEMA_VERSION {
            return Ok(Some(version));
        }
        if version < 1 {
            tx.batch_execute(SCHEMA_V1).await?;
        }
        if version < SCHEMA_VERSION {
            tx.execute_typed(
                "INSERT INTO shipit.meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[(&SCHEMA_VERSION.to_string(), Type::TEXT)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok::<_, tokio_postgres::Error>(None)
    };
    match run.await {
        Ok(None) => Ok(()),
        Ok(Some(newer)) => anyhow::bail!(
            "the record in {shown} has schema version {newer}; this shipit knows up to {SCHEMA_VERSION}\nhint: upgrade shipit (every machine that writes the record should run the same version)"
        ),
        Err(e) => Err(pg::describe(&e))
            .with_context(|| format!("cannot create or migrate schema `shipit` in {shown}")),
    }
}

/// The names a run is found by (`history APP`): its environment, and every service's app, name
/// and environment.
fn names_of(r: &RunRecord) -> (Vec<String>, Vec<String>) {
    let mut names: Vec<String> = r.env.iter().cloned().collect();
    let mut envs: Vec<String> = r.env.iter().cloned().collect();
    for s in &r.services {
        names.push(s.app.clone());
        names.push(s.service.clone());
        envs.push(s.env.clone());
    }
    names.sort();
    names.dedup();
    envs.sort();
    envs.dedup();
    (names, envs)
}

fn parse_receipt(id: &str, text: &str) -> Result<RunRecord, (String, String)> {
    serde_json::from_str(text).map_err(|e| (format!("run {id}"), e.to_string()))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A deploy lock: the connection that holds `pg_try_advisory_lock`; dropped, it closes and the
/// server lets go.
struct SessionLock {
    _client: Client,
}

impl LockGuard for SessionLock {}

impl Store for PostgresStore {
    fn describe(&self) -> String {
        format!("postgres ({})", self.target.shown)
    }

    fn append_run<'a>(&'a self, record: &'a RunRecord) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let text = receipt::to_json(record)?;
            let entry = log::entry(record);
            let (names, envs) = names_of(record);
            let kind = record.kind.name().to_owned();
            self.with_client(async |c| {
                let tx = c.transaction().await?;
                let inserted = tx
                    .execute_typed(
                        "INSERT INTO shipit.runs (id, started_at, kind, env, names, envs, receipt)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                        &[
                            (&record.id, Type::TEXT),
                            (&record.started_at, Type::TEXT),
                            (&kind, Type::TEXT),
                            (&record.env, Type::TEXT),
                            (&names, Type::TEXT_ARRAY),
                            (&envs, Type::TEXT_ARRAY),
                            (&text, Type::TEXT),
                        ],
                    )
                    .await?;
                if inserted == 1 {
                    tx.execute_typed(
                        "INSERT INTO shipit.evidence (run_id, entry) VALUES ($1, $2)",
                        &[(&record.id, Type::TEXT), (&entry, Type::TEXT)],
                    )
                    .await?;
                }
                tx.commit().await
            })
            .await
        })
    }

    fn runs<'a>(&'a self, query: &'a RunQuery) -> StoreFuture<'a, RunList> {
        Box::pin(async move {
            let kinds: Vec<String> = query.kinds.iter().map(|k| k.name().to_owned()).collect();
            let limit = query.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
            let rows = self
                .with_client(async |c| {
                    c.query_typed(
                        "SELECT id, receipt FROM shipit.runs
                         WHERE ($1::text IS NULL OR $1 = ANY(names))
                           AND ($2::text IS NULL OR $2 = ANY(envs))
                           AND (cardinality($3::text[]) = 0 OR kind = ANY($3))
                           AND ($4::text IS NULL OR started_at >= $4)
                         ORDER BY started_at DESC, id DESC
                         LIMIT $5",
                        &[
                            (&query.app, Type::TEXT),
                            (&query.env, Type::TEXT),
                            (&kinds, Type::TEXT_ARRAY),
                            (&query.since, Type::TEXT),
                            (&limit, Type::INT8),
                        ],
                    )
                    .await
                })
                .await?;
            let mut list = RunList::default();
            for row in rows {
                let id: String = row.get(0);
                match parse_receipt(&id, row.get(1)) {
                    Ok(r) if query.matches(&r) => list.runs.push(r),
                    Ok(_) => {}
                    Err(bad) => list.unreadable.push(bad),
                }
            }
            Ok(list)
        })
    }

    fn find_run<'a>(&'a self, id: &'a str) -> StoreFuture<'a, RunRecord> {
        Box::pin(async move {
            let (rows, any) = self
                .with_client(async |c| {
                    let rows = if id == "last" {
                        c.query_typed(
                            "SELECT id, receipt FROM shipit.runs
                             ORDER BY started_at DESC, id DESC LIMIT 1",
                            &[],
                        )
                        .await?
                    } else {
                        // The exact id first, so six prefix matches never hide it.
                        c.query_typed(
                            "SELECT id, receipt FROM shipit.runs
                             WHERE id = $1 OR left(id, length($1)) = $1
                             ORDER BY (id = $1) DESC, started_at DESC, id DESC LIMIT 6",
                            &[(&id, Type::TEXT)],
                        )
                        .await?
                    };
                    let any = !rows.is_empty()
                        || c.query_typed_one("SELECT EXISTS (SELECT 1 FROM shipit.runs)", &[])
                            .await?
                            .get::<_, bool>(0);
                    Ok((rows, any))
                })
                .await?;
            let place = self.describe();
            if !any {
                return super::pick_run(Vec::new(), id, &place);
            }
            let mut runs = Vec::new();
            for row in rows {
                let rid: String = row.get(0);
                runs.push(
                    parse_receipt(&rid, row.get(1)).map_err(|(w, why)| {
                        anyhow::anyhow!("{w} in {place} is unreadable: {why}")
                    })?,
                );
            }
            if runs.first().is_some_and(|r| r.id == id) {
                runs.truncate(1);
            }
            if runs.is_empty() {
                anyhow::bail!(
                    "no run `{id}` in {place}\nhint: `shipit history` lists the runs; `shipit explain last` shows the newest"
                );
            }
            super::pick_run(runs, id, &place)
        })
    }

    fn put_target<'a>(
        &'a self,
        app: &'a str,
        target: &'a serde_json::Value,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let text = serde_json::to_string(&crate::secret::redact_json(target.clone()))?;
            self.with_client(async |c| {
                c.execute_typed(
                    "INSERT INTO shipit.targets (app, target) VALUES ($1, $2)
                     ON CONFLICT (app) DO UPDATE SET target = excluded.target, updated_at = now()",
                    &[(&app, Type::TEXT), (&text, Type::TEXT)],
                )
                .await
            })
            .await?;
            Ok(())
        })
    }

    fn target<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Option<serde_json::Value>> {
        Box::pin(async move {
            let row = self
                .with_client(async |c| {
                    c.query_typed_opt(
                        "SELECT target FROM shipit.targets WHERE app = $1",
                        &[(&app, Type::TEXT)],
                    )
                    .await
                })
                .await?;
            row.map(|r| {
                serde_json::from_str(r.get::<_, &str>(0)).with_context(|| {
                    format!(
                        "the rollback target of {app} in {} is unreadable",
                        self.describe()
                    )
                })
            })
            .transpose()
        })
    }

    fn alerts<'a>(
        &'a self,
        env: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<(AlertKey, Versioned<AlertState>)>> {
        Box::pin(async move {
            let rows = self
                .with_client(async |c| {
                    c.query_typed(
                        "SELECT env, app, rule, version, state FROM shipit.alerts
                         WHERE state IS NOT NULL AND ($1::text IS NULL OR env = $1)",
                        &[(&env, Type::TEXT)],
                    )
                    .await
                })
                .await?;
            let mut out = Vec::new();
            for row in rows {
                let key = AlertKey {
                    env: row.get(0),
                    app: row.get(1),
                    rule: row.get(2),
                };
                let state: AlertState =
                    serde_json::from_str(row.get::<_, &str>(4)).with_context(|| {
                        format!(
                            "the alert state of {} in {} is unreadable",
                            key.text(),
                            self.describe()
                        )
                    })?;
                out.push((
                    key,
                    Versioned {
                        version: to_u64(row.get(3)),
                        value: state,
                    },
                ));
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(out)
        })
    }

    fn put_alert<'a>(
        &'a self,
        key: &'a AlertKey,
        expected: Option<u64>,
        state: Option<&'a AlertState>,
    ) -> StoreFuture<'a, Cas> {
        Box::pin(async move {
            let text = state
                .map(|s| {
                    serde_json::to_value(s)
                        .map(crate::secret::redact_json)
                        .and_then(|v| serde_json::to_string(&v))
                })
                .transpose()?;
            let written = self
                .with_client(async |c| {
                    let row = match expected {
                        // Only a key that does not exist (or was deleted) may be created.
                        None => {
                            c.query_typed_opt(
                                "INSERT INTO shipit.alerts (env, app, rule, version, state)
                                 VALUES ($1, $2, $3, 1, $4)
                                 ON CONFLICT (env, app, rule) DO UPDATE
                                   SET version = shipit.alerts.version + 1,
                                       state = excluded.state, updated_at = now()
                                   WHERE shipit.alerts.state IS NULL
                                 RETURNING version",
                                &[
                                    (&key.env, Type::TEXT),
                                    (&key.app, Type::TEXT),
                                    (&key.rule, Type::TEXT),
                                    (&text, Type::TEXT),
                                ],
                            )
                            .await?
                        }
                        Some(v) => {
                            c.query_typed_opt(
                                "UPDATE shipit.alerts
                                 SET version = version + 1, state = $4, updated_at = now()
                                 WHERE env = $1 AND app = $2 AND rule = $3
                                   AND version = $5 AND state IS NOT NULL
                                 RETURNING version",
                                &[
                                    (&key.env, Type::TEXT),
                                    (&key.app, Type::TEXT),
                                    (&key.rule, Type::TEXT),
                                    (&text, Type::TEXT),
                                    (&to_i64(v), Type::INT8),
                                ],
                            )
                            .await?
                        }
                    };
                    if let Some(row) = row {
                        return Ok(Ok(to_u64(row.get(0))));
                    }
                    let now = c
                        .query_typed_opt(
                            "SELECT version, state FROM shipit.alerts
                             WHERE env = $1 AND app = $2 AND rule = $3 AND state IS NOT NULL",
                            &[
                                (&key.env, Type::TEXT),
                                (&key.app, Type::TEXT),
                                (&key.rule, Type::TEXT),
                            ],
                        )
                        .await?;
                    Ok(Err(now.map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))))
                })
                .await?;
            match written {
                Ok(version) => Ok(Cas::Written(version)),
                Err(None) => Ok(Cas::Conflict(None)),
                Err(Some((version, text))) => {
                    let value: AlertState = serde_json::from_str(&text).with_context(|| {
                        format!(
                            "the alert state of {} in {} is unreadable",
                            key.text(),
                            self.describe()
                        )
                    })?;
                    Ok(Cas::Conflict(Some(Versioned {
                        version: to_u64(version),
                        value,
                    })))
                }
            }
        })
    }

    fn add_promotion<'a>(&'a self, promotion: &'a Promotion) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let text = serde_json::to_string(&crate::secret::redact_json(serde_json::to_value(
                promotion,
            )?))?;
            self.with_client(async |c| {
                c.execute_typed(
                    "INSERT INTO shipit.promotions (env, service, promotion) VALUES ($1, $2, $3)",
                    &[
                        (&promotion.env, Type::TEXT),
                        (&promotion.service, Type::TEXT),
                        (&text, Type::TEXT),
                    ],
                )
                .await
            })
            .await?;
            Ok(())
        })
    }

    fn promotions<'a>(
        &'a self,
        env: &'a str,
        service: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<Promotion>> {
        Box::pin(async move {
            let rows = self
                .with_client(async |c| {
                    c.query_typed(
                        "SELECT promotion FROM shipit.promotions
                         WHERE env = $1 AND ($2::text IS NULL OR service = $2)
                         ORDER BY seq DESC",
                        &[(&env, Type::TEXT), (&service, Type::TEXT)],
                    )
                    .await
                })
                .await?;
            rows.iter()
                .map(|r| {
                    serde_json::from_str(r.get::<_, &str>(0)).with_context(|| {
                        format!("a promotion of {env} in {} is unreadable", self.describe())
                    })
                })
                .collect()
        })
    }

    fn lock<'a>(
        &'a self,
        app: &'a str,
        holder: &'a LockHolder,
        wait: Option<Duration>,
    ) -> StoreFuture<'a, Locked> {
        Box::pin(async move {
            // The schema (for `locks`) is made current through the shared connection; the lock
            // gets a connection of its own, which lives exactly as long as the guard.
            self.with_client(async |_| Ok(())).await?;
            let client = pg::connect(&self.target, "the record").await?;
            let shown = self.describe();
            let holder_text = serde_json::to_string(holder)?;
            let start = Instant::now();
            loop {
                let took: bool = client
                    .query_typed_one(
                        "SELECT pg_try_advisory_lock(hashtext('shipit-deploy'), hashtext($1))",
                        &[(&app, Type::TEXT)],
                    )
                    .await
                    .map_err(|e| pg::describe(&e))
                    .with_context(|| format!("cannot take the deploy lock of {app} in {shown}"))?
                    .get(0);
                if took {
                    client
                        .execute_typed(
                            "INSERT INTO shipit.locks (app, holder) VALUES ($1, $2)
                             ON CONFLICT (app) DO UPDATE SET holder = excluded.holder, taken_at = now()",
                            &[(&app, Type::TEXT), (&holder_text, Type::TEXT)],
                        )
                        .await
                        .map_err(|e| pg::describe(&e))
                        .with_context(|| format!("cannot name the holder of {app}'s lock in {shown}"))?;
                    return Ok(Locked::Held(Box::new(SessionLock { _client: client })));
                }
                if wait.is_some_and(|w| start.elapsed() < w) {
                    tokio::time::sleep(LOCK_POLL).await;
                    continue;
                }
                let row = client
                    .query_typed_opt(
                        "SELECT holder FROM shipit.locks WHERE app = $1",
                        &[(&app, Type::TEXT)],
                    )
                    .await
                    .ok()
                    .flatten();
                let known = row.and_then(|r| serde_json::from_str(r.get::<_, &str>(0)).ok());
                return Ok(Locked::Busy(known));
            }
        })
    }

    /// The whole batch in one transaction: each run with its entry as written (a run already
    /// here is left alone, its entry too), then the promotions in order.
    fn import<'a>(&'a self, batch: &'a Import) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut runs = Vec::with_capacity(batch.runs.len());
            for run in &batch.runs {
                let r = &run.record;
                let (names, envs) = names_of(r);
                runs.push((
                    r,
                    receipt::to_json(r)?,
                    crate::secret::redact(&run.entry).into_owned(),
                    r.kind.name().to_owned(),
                    names,
                    envs,
                ));
            }
            let mut promotions = Vec::with_capacity(batch.promotions.len());
            for p in &batch.promotions {
                let text =
                    serde_json::to_string(&crate::secret::redact_json(serde_json::to_value(p)?))?;
                promotions.push((p, text));
            }
            self.with_client(async |c| {
                let tx = c.transaction().await?;
                for (r, text, entry, kind, names, envs) in &runs {
                    let inserted = tx
                        .execute_typed(
                            "INSERT INTO shipit.runs (id, started_at, kind, env, names, envs, receipt)
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                            &[
                                (&r.id, Type::TEXT),
                                (&r.started_at, Type::TEXT),
                                (kind, Type::TEXT),
                                (&r.env, Type::TEXT),
                                (names, Type::TEXT_ARRAY),
                                (envs, Type::TEXT_ARRAY),
                                (text, Type::TEXT),
                            ],
                        )
                        .await?;
                    if inserted == 1 {
                        tx.execute_typed(
                            "INSERT INTO shipit.evidence (run_id, entry) VALUES ($1, $2)",
                            &[(&r.id, Type::TEXT), (entry, Type::TEXT)],
                        )
                        .await?;
                    }
                }
                for (p, text) in &promotions {
                    tx.execute_typed(
                        "INSERT INTO shipit.promotions (env, service, promotion) VALUES ($1, $2, $3)",
                        &[(&p.env, Type::TEXT), (&p.service, Type::TEXT), (text, Type::TEXT)],
                    )
                    .await?;
                }
                tx.commit().await
            })
            .await
        })
    }
}
