//! `store: { git: { branch, remote } }`: the record as files on an orphan branch of this
//! repository (default `shipit-records`), written with git's plumbing and pushed by the job.
//!
//! Layout of the branch: `runs/<id>.json` (one receipt per run), `feedback/deployment.md` (the
//! Markdown evidence log, appended), `targets/<app>.json`, `alerts/<env>/<app>/<rule>.json` (one
//! small document per key, with its version), `promotions/<at>-<run>-<random>.json`.
//!
//! A write fetches the branch into a private ref (`refs/shipit/fetch/...`, deleted after), builds
//! the new tree in a temporary index (`GIT_INDEX_FILE`) from the fetched tip, commits it with
//! `commit-tree` and pushes that commit (never forced). A push rejected because another run
//! pushed first is fetched, re-applied on the new tip and pushed again, with backoff, for at
//! most [`PUSH_DEADLINE`]. A compare-and-set is checked against the tip it is applied to, so a
//! retry re-checks it.
//!
//! **Invariant:** the user's checkout, index, `HEAD` and branches are never touched: no
//! `checkout`, no `add`, no write to `.git/index`, no ref outside `refs/shipit/`.
//!
//! **Invariant:** this is the one module besides `platform/fly.rs` that spawns a process
//! (`git`, with an argv vector). `GITHUB_TOKEN` reaches git only as an `http.extraheader` set
//! through `GIT_CONFIG_*` variables on the fetch and push commands: never in argv, never in
//! `.git/config`, registered as a secret and redacted from every message.

use super::AlertDoc;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::{
    AlertKey, AlertState, Cas, Import, LockHolder, Locked, Promotion, RunList, RunQuery, Store,
    StoreFuture, Versioned,
};
use crate::evidence::{log, receipt};
use crate::report::RunRecord;

/// How long a write keeps retrying a rejected push before it gives up.
pub const PUSH_DEADLINE: Duration = Duration::from_secs(60);
/// Where the evidence log lives on the branch.
const LOG_PATH: &str = "feedback/deployment.md";

/// The record on a branch of the repository at `dir`.
pub struct GitStore {
    dir: PathBuf,
    branch: String,
    remote: String,
    /// The remote's URL, looked up once: fetching and pushing by URL updates no
    /// remote-tracking ref (which concurrent runs would fight over) and nothing of the user's.
    url: std::sync::OnceLock<String>,
}

/// One change to apply to the fetched tip.
enum Change {
    /// A whole file (written only if absent when `create_only`).
    Put {
        path: String,
        bytes: Vec<u8>,
        create_only: bool,
    },
    /// Text appended to a file (created with `header` when new).
    Append {
        path: String,
        text: String,
        header: &'static str,
    },
}

/// What a write decided against the tip it was applied to.
enum Plan {
    Commit(Vec<Change>, String),
    /// Nothing to write (e.g. a compare-and-set that lost); its answer.
    Nothing,
}

impl GitStore {
    pub fn new(dir: &Path, branch: &str, remote: &str) -> GitStore {
        GitStore {
            dir: dir.to_owned(),
            branch: branch.to_owned(),
            remote: remote.to_owned(),
            url: std::sync::OnceLock::new(),
        }
    }

    /// Runs git in the repository with `args`, `stdin` fed in, and the extra environment.
    #[allow(
        clippy::disallowed_methods,
        reason = "the git store is an edge module: git's CLI is how it reads and writes the branch"
    )]
    fn git(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(String, String)],
    ) -> anyhow::Result<Output> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "shipit")
            .env("GIT_AUTHOR_EMAIL", "shipit@localhost")
            .env("GIT_COMMITTER_NAME", "shipit")
            .env("GIT_COMMITTER_EMAIL", "shipit@localhost")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context(
            "cannot run git\nhint: install git, or use `store: local` / `store: postgres`",
        )?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("piped");
            // Write from a thread so a large output cannot deadlock against a full stdin pipe.
            let input = input.to_vec();
            let writer = std::thread::spawn(move || pipe.write_all(&input));
            let out = child.wait_with_output().context("cannot run git")?;
            let _ = writer.join();
            return Ok(out);
        }
        child.wait_with_output().context("cannot run git")
    }

    /// Runs git and fails with its (redacted) stderr when it fails.
    fn git_ok(
        &self,
        args: &[&str],
        stdin: Option<&[u8]>,
        env: &[(String, String)],
    ) -> anyhow::Result<Vec<u8>> {
        let out = self.git(args, stdin, env)?;
        if !out.status.success() {
            anyhow::bail!(
                "git {} failed: {}",
                args.first().copied().unwrap_or_default(),
                crate::secret::redact(String::from_utf8_lossy(&out.stderr).trim())
            );
        }
        Ok(out.stdout)
    }

    /// The token header for fetch and push, as `GIT_CONFIG_*` variables (empty without a token).
    fn auth_env() -> Vec<(String, String)> {
        let Some(token) = crate::env_vars::non_empty(crate::env_vars::GITHUB_TOKEN) else {
            return Vec::new();
        };
        crate::secret::register(&token);
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("x-access-token:{token}"),
        );
        crate::secret::register(&basic);
        let server = crate::env_vars::non_empty(crate::env_vars::GITHUB_SERVER_URL)
            .unwrap_or_else(|| "https://github.com".to_owned());
        vec![
            ("GIT_CONFIG_COUNT".into(), "1".into()),
            (
                "GIT_CONFIG_KEY_0".into(),
                format!("http.{}/.extraheader", server.trim_end_matches('/')),
            ),
            (
                "GIT_CONFIG_VALUE_0".into(),
                format!("AUTHORIZATION: basic {basic}"),
            ),
        ]
    }

    fn remote_url(&self) -> anyhow::Result<&str> {
        if let Some(u) = self.url.get() {
            return Ok(u);
        }
        let out = self.git(&["remote", "get-url", "--push", &self.remote], None, &[])?;
        if !out.status.success() {
            anyhow::bail!(
                "{} has no git remote `{}`: {}\nhint: set `store: {{ git: {{ remote: NAME }} }}` to one `git remote` lists",
                crate::evidence::display_path(&self.dir),
                self.remote,
                crate::secret::redact(String::from_utf8_lossy(&out.stderr).trim())
            );
        }
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(self.url.get_or_init(|| url))
    }

    /// Fetches the branch; `None` when the remote has no such branch yet.
    fn fetch(&self) -> anyhow::Result<Option<String>> {
        let url = self.remote_url()?;
        let tmp = format!(
            "refs/shipit/fetch/{}-{}",
            std::process::id(),
            crate::random::hex(4)
        );
        let spec = format!("+refs/heads/{}:{tmp}", self.branch);
        let out = self.git(
            &[
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--refmap=",
                url,
                &spec,
            ],
            None,
            &Self::auth_env(),
        )?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("couldn't find remote ref") {
                return Ok(None);
            }
            anyhow::bail!(
                "cannot fetch branch {} from {}: {}",
                self.branch,
                self.remote,
                crate::secret::redact(err.trim())
            );
        }
        let sha = self.git_ok(
            &["rev-parse", "--verify", &format!("{tmp}^{{commit}}")],
            None,
            &[],
        )?;
        let _ = self.git(&["update-ref", "-d", &tmp], None, &[]);
        Ok(Some(String::from_utf8_lossy(&sha).trim().to_owned()))
    }

    /// Reads files at `rev` in one `cat-file --batch`: `None` for a missing one.
    fn read_files(&self, rev: &str, paths: &[String]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
        let names: Vec<String> = paths.iter().map(|p| format!("{rev}:{p}")).collect();
        self.read_objects(&names)
    }

    /// Reads objects by name (`REV:PATH` or a blob id) in one `cat-file --batch`. A folder of
    /// 10,000 receipts is read by blob id: `REV:PATH` makes git search the folder's tree once per
    /// file, which grows with the square of the folder.
    fn read_objects(&self, names: &[String]) -> anyhow::Result<Vec<Option<Vec<u8>>>> {
        let paths = names;
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = String::new();
        for p in paths {
            input.push_str(p);
            input.push('\n');
        }
        let out = self.git_ok(&["cat-file", "--batch"], Some(input.as_bytes()), &[])?;
        let mut files = Vec::with_capacity(paths.len());
        let mut rest = &out[..];
        for _ in paths {
            let nl = rest
                .iter()
                .position(|&b| b == b'\n')
                .context("git cat-file: a short answer")?;
            let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
            rest = &rest[nl + 1..];
            if header.ends_with(" missing") || header.ends_with(" ambiguous") {
                files.push(None);
                continue;
            }
            let size: usize = header
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("git cat-file: unexpected `{header}`"))?;
            anyhow::ensure!(rest.len() > size, "git cat-file: a short answer");
            files.push(Some(rest[..size].to_vec()));
            rest = &rest[size + 1..];
        }
        Ok(files)
    }

    /// The files under `folder/` at `rev` with their blob ids.
    fn list_blobs(&self, rev: &str, folder: &str) -> anyhow::Result<Vec<(String, String)>> {
        let out = self.git_ok(
            &["ls-tree", "-r", "-z", rev, "--", &format!("{folder}/")],
            None,
            &[],
        )?;
        // `<mode> SP <type> SP <object> TAB <path>`, NUL-terminated.
        Ok(out
            .split(|&b| b == 0)
            .filter(|e| !e.is_empty())
            .filter_map(|e| {
                let e = String::from_utf8_lossy(e);
                let (head, path) = e.split_once('\t')?;
                let oid = head.split(' ').nth(2)?;
                Some((path.to_owned(), oid.to_owned()))
            })
            .collect())
    }

    /// The files under `folder/` at `rev` (paths from the branch root).
    fn list(&self, rev: &str, folder: &str) -> anyhow::Result<Vec<String>> {
        let out = self.git_ok(
            &[
                "ls-tree",
                "-r",
                "--name-only",
                "-z",
                rev,
                "--",
                &format!("{folder}/"),
            ],
            None,
            &[],
        )?;
        Ok(out
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// Builds a commit on `base` with `changes` in a temporary index, and returns it.
    fn commit(
        &self,
        base: Option<&str>,
        changes: &[Change],
        message: &str,
    ) -> anyhow::Result<String> {
        let index = std::env::temp_dir().join(format!(
            "shipit-index-{}-{}",
            std::process::id(),
            crate::random::hex(6)
        ));
        let env = vec![("GIT_INDEX_FILE".to_owned(), index.display().to_string())];
        let result = (|| {
            match base {
                Some(b) => self.git_ok(&["read-tree", b], None, &env)?,
                None => self.git_ok(&["read-tree", "--empty"], None, &env)?,
            };
            let mut entries = String::new();
            for change in changes {
                let (path, bytes) = match change {
                    Change::Put {
                        path,
                        bytes,
                        create_only,
                    } => {
                        if *create_only
                            && let Some(b) = base
                            && self.read_files(b, std::slice::from_ref(path))?[0].is_some()
                        {
                            continue;
                        }
                        (path, bytes.clone())
                    }
                    Change::Append { path, text, header } => {
                        let old = match base {
                            Some(b) => self.read_files(b, std::slice::from_ref(path))?.remove(0),
                            None => None,
                        };
                        let mut bytes = old.unwrap_or_else(|| header.as_bytes().to_vec());
                        if bytes.last().is_some_and(|&c| c != b'\n') {
                            bytes.push(b'\n');
                        }
                        bytes.extend_from_slice(text.as_bytes());
                        (path, bytes)
                    }
                };
                let sha = self.git_ok(&["hash-object", "-w", "--stdin"], Some(&bytes), &[])?;
                let _ = writeln!(
                    entries,
                    "100644 {}\t{path}",
                    String::from_utf8_lossy(&sha).trim()
                );
            }
            self.git_ok(
                &["update-index", "--index-info"],
                Some(entries.as_bytes()),
                &env,
            )?;
            let tree = self.git_ok(&["write-tree"], None, &env)?;
            let tree = String::from_utf8_lossy(&tree).trim().to_owned();
            let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
            if let Some(b) = base {
                args.extend(["-p", b]);
            }
            let commit = self.git_ok(&args, None, &[])?;
            Ok(String::from_utf8_lossy(&commit).trim().to_owned())
        })();
        let _ = std::fs::remove_file(&index);
        result
    }

    /// Fetch, plan against the tip, commit, push; on a rejected push, again with backoff.
    fn write(&self, plan: impl Fn(Option<&str>) -> anyhow::Result<Plan>) -> anyhow::Result<()> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            let base = self.fetch()?;
            let (changes, message) = match plan(base.as_deref())? {
                Plan::Nothing => return Ok(()),
                Plan::Commit(c, m) => (c, m),
            };
            // A nonce in the message makes every attempt's commit unique: two writers making
            // the same change on the same tip in the same second would otherwise build the
            // very same commit, and the second push would "succeed" as already up to date.
            let message = format!(
                "{message}\n\nshipit-writer: {} {}",
                std::process::id(),
                crate::random::hex(8)
            );
            let commit = self.commit(base.as_deref(), &changes, &message)?;
            let target = format!("{commit}:refs/heads/{}", self.branch);
            let url = self.remote_url()?;
            let out = self.git(&["push", "--quiet", url, &target], None, &Self::auth_env())?;
            if out.status.success() || self.remote_tip_is(url, &commit) {
                // A push can land and still fail afterwards (git then updates a local
                // remote-tracking ref that another run holds locked): what the remote holds is
                // the truth, so a landed write is never applied twice.
                return Ok(());
            }
            let err =
                crate::secret::redact(String::from_utf8_lossy(&out.stderr).trim()).into_owned();
            let rejected = err.contains("rejected")
                || err.contains("non-fast-forward")
                || err.contains("fetch first")
                || err.contains("cannot lock ref")
                || err.contains("failed to update ref");
            if !rejected || start.elapsed() > PUSH_DEADLINE {
                anyhow::bail!(
                    "cannot push branch {} to {}: {err}",
                    self.branch,
                    self.remote
                );
            }
            // Someone else pushed first: take their tip and apply ours again, after a pause
            // that grows and is jittered so racing writers spread out.
            let jitter = u64::from(crate::random::hex(1).as_bytes()[0] % 50);
            std::thread::sleep(delay + Duration::from_millis(jitter));
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// Whether the remote's branch now points at `commit`.
    fn remote_tip_is(&self, url: &str, commit: &str) -> bool {
        let refname = format!("refs/heads/{}", self.branch);
        self.git(&["ls-remote", url, &refname], None, &Self::auth_env())
            .ok()
            .filter(|o| o.status.success())
            .is_some_and(|o| String::from_utf8_lossy(&o.stdout).starts_with(commit))
    }

    /// Reads at the fetched tip: `None` when the branch does not exist yet.
    fn tip(&self) -> anyhow::Result<Option<String>> {
        self.fetch()
    }

    fn context(&self) -> String {
        format!("the record in {}", self.describe())
    }
}

/// Where a promotion is kept: named by its time first, so a listing is in time order.
fn promotion_path(promotion: &Promotion) -> String {
    format!(
        "promotions/{}-{}-{}.json",
        super::local::file_part(&promotion.at.replace(':', "")),
        super::local::file_part(&promotion.run_id),
        crate::random::hex(4)
    )
}

fn promotion_bytes(promotion: &Promotion) -> anyhow::Result<Vec<u8>> {
    let value = crate::secret::redact_json(serde_json::to_value(promotion)?);
    Ok((serde_json::to_string_pretty(&value)? + "\n").into_bytes())
}

fn alert_path(key: &AlertKey) -> String {
    use super::local::file_part;
    format!(
        "alerts/{}/{}/{}.json",
        file_part(&key.env),
        file_part(&key.app),
        file_part(&key.rule)
    )
}

impl Store for GitStore {
    fn describe(&self) -> String {
        format!("git (branch {} of {})", self.branch, self.remote)
    }

    fn append_run<'a>(&'a self, record: &'a RunRecord) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let text = receipt::to_json(record)?;
            let entry = log::entry(record);
            let stem = receipt::path(Path::new("runs"), &record.id);
            let path = stem.display().to_string();
            self.write(|base| {
                // Re-appending a run that is already there changes nothing (idempotent migrate).
                if let Some(b) = base
                    && self.read_files(b, std::slice::from_ref(&path))?[0].is_some()
                {
                    return Ok(Plan::Nothing);
                }
                Ok(Plan::Commit(
                    vec![
                        Change::Put {
                            path: path.clone(),
                            bytes: text.clone().into_bytes(),
                            create_only: true,
                        },
                        Change::Append {
                            path: LOG_PATH.to_owned(),
                            text: entry.clone(),
                            header: log::HEADER,
                        },
                    ],
                    format!("shipit: {} {}", record.kind.name(), record.id),
                ))
            })
            .with_context(|| self.context())
        })
    }

    fn runs<'a>(&'a self, query: &'a RunQuery) -> StoreFuture<'a, RunList> {
        Box::pin(async move {
            let mut list = RunList::default();
            let Some(tip) = self.tip().with_context(|| self.context())? else {
                return Ok(list);
            };
            let (paths, blobs): (Vec<String>, Vec<String>) = self
                .list_blobs(&tip, "runs")?
                .into_iter()
                .filter(|(p, _)| Path::new(p).extension().is_some_and(|e| e == "json"))
                .unzip();
            let files = self.read_objects(&blobs)?;
            let mut runs = Vec::new();
            for (path, bytes) in paths.into_iter().zip(files) {
                match bytes.map(|b| serde_json::from_slice::<RunRecord>(&b)) {
                    Some(Ok(r)) => runs.push(r),
                    Some(Err(e)) => list.unreadable.push((path, e.to_string())),
                    None => list.unreadable.push((path, "missing".into())),
                }
            }
            super::newest_first(&mut runs);
            list.runs = query.select(runs);
            Ok(list)
        })
    }

    fn find_run<'a>(&'a self, id: &'a str) -> StoreFuture<'a, RunRecord> {
        Box::pin(async move {
            let all = self.runs(&RunQuery::default()).await?;
            super::pick_run(all.runs, id, &self.describe())
        })
    }

    fn put_target<'a>(
        &'a self,
        app: &'a str,
        target: &'a serde_json::Value,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let text =
                serde_json::to_string_pretty(&crate::secret::redact_json(target.clone()))? + "\n";
            let path = format!("targets/{}.json", super::local::file_part(app));
            self.write(|_| {
                Ok(Plan::Commit(
                    vec![Change::Put {
                        path: path.clone(),
                        bytes: text.clone().into_bytes(),
                        create_only: false,
                    }],
                    format!("shipit: rollback target of {app}"),
                ))
            })
            .with_context(|| self.context())
        })
    }

    fn target<'a>(&'a self, app: &'a str) -> StoreFuture<'a, Option<serde_json::Value>> {
        Box::pin(async move {
            let Some(tip) = self.tip().with_context(|| self.context())? else {
                return Ok(None);
            };
            let path = format!("targets/{}.json", super::local::file_part(app));
            match self.read_files(&tip, &[path])?.remove(0) {
                None => Ok(None),
                Some(b) => Ok(Some(serde_json::from_slice(&b).with_context(|| {
                    format!(
                        "the rollback target of {app} in {} is unreadable",
                        self.describe()
                    )
                })?)),
            }
        })
    }

    fn alerts<'a>(
        &'a self,
        env: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<(AlertKey, Versioned<AlertState>)>> {
        Box::pin(async move {
            let Some(tip) = self.tip().with_context(|| self.context())? else {
                return Ok(Vec::new());
            };
            let paths = self.list(&tip, "alerts")?;
            let mut out = Vec::new();
            for (path, bytes) in paths.iter().zip(self.read_files(&tip, &paths)?) {
                let Some(bytes) = bytes else { continue };
                let doc: AlertDoc = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{path} in {} is unreadable", self.describe()))?;
                if let Some(entry) = doc.entry(env) {
                    out.push(entry);
                }
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
            let path = alert_path(key);
            let answer = std::cell::RefCell::new(None);
            self.write(|base| {
                let current: Option<AlertDoc> = match base {
                    Some(b) => match self.read_files(b, std::slice::from_ref(&path))?.remove(0) {
                        Some(bytes) => Some(serde_json::from_slice(&bytes).with_context(|| {
                            format!("{path} in {} is unreadable", self.describe())
                        })?),
                        None => None,
                    },
                    None => None,
                };
                let stored = current.as_ref().map_or(0, |d| d.version);
                let live = current.and_then(|d| {
                    d.state.map(|s| Versioned {
                        version: d.version,
                        value: s,
                    })
                });
                let matches = match (&live, expected) {
                    (None, None) => true,
                    (Some(v), Some(e)) => v.version == e,
                    _ => false,
                };
                if !matches {
                    *answer.borrow_mut() = Some(Cas::Conflict(live));
                    return Ok(Plan::Nothing);
                }
                let doc = AlertDoc {
                    version: stored + 1,
                    key: key.clone(),
                    state: state.cloned(),
                };
                let value = crate::secret::redact_json(serde_json::to_value(&doc)?);
                *answer.borrow_mut() = Some(Cas::Written(stored + 1));
                Ok(Plan::Commit(
                    vec![Change::Put {
                        path: path.clone(),
                        bytes: (serde_json::to_string_pretty(&value)? + "\n").into_bytes(),
                        create_only: false,
                    }],
                    format!("shipit: alert {}", key.text()),
                ))
            })
            .with_context(|| self.context())?;
            Ok(answer.into_inner().expect("the plan ran"))
        })
    }

    fn add_promotion<'a>(&'a self, promotion: &'a Promotion) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let bytes = promotion_bytes(promotion)?;
            let path = promotion_path(promotion);
            self.write(|_| {
                Ok(Plan::Commit(
                    vec![Change::Put {
                        path: path.clone(),
                        bytes: bytes.clone(),
                        create_only: true,
                    }],
                    format!("shipit: promotion {} {}", promotion.env, promotion.service),
                ))
            })
            .with_context(|| self.context())
        })
    }

    fn promotions<'a>(
        &'a self,
        env: &'a str,
        service: Option<&'a str>,
    ) -> StoreFuture<'a, Vec<Promotion>> {
        Box::pin(async move {
            let Some(tip) = self.tip().with_context(|| self.context())? else {
                return Ok(Vec::new());
            };
            let paths = self.list(&tip, "promotions")?;
            // The commit order is the append order: newest commit first.
            let order = self.git_ok(
                &[
                    "log",
                    "--format=",
                    "--name-only",
                    "--diff-filter=A",
                    &tip,
                    "--",
                    "promotions/",
                ],
                None,
                &[],
            )?;
            let order: Vec<String> = String::from_utf8_lossy(&order)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            let mut sorted: Vec<&String> = paths.iter().collect();
            // Newest commit first; inside one commit (a migration's batch) newest name first,
            // since names start with the promotion's time.
            let position = |p: &String| order.iter().position(|o| o == p).unwrap_or(usize::MAX);
            sorted.sort_by(|a, b| position(a).cmp(&position(b)).then_with(|| b.cmp(a)));
            let sorted: Vec<String> = sorted.into_iter().cloned().collect();
            let mut out = Vec::new();
            for (path, bytes) in sorted.iter().zip(self.read_files(&tip, &sorted)?) {
                let Some(bytes) = bytes else { continue };
                let p: Promotion = serde_json::from_slice(&bytes)
                    .with_context(|| format!("{path} in {} is unreadable", self.describe()))?;
                if p.env == env && service.is_none_or(|s| p.service == s) {
                    out.push(p);
                }
            }
            Ok(out)
        })
    }

    fn lock<'a>(
        &'a self,
        _app: &'a str,
        _holder: &'a LockHolder,
        _wait: Option<Duration>,
    ) -> StoreFuture<'a, Locked> {
        Box::pin(async { Ok(Locked::Unsupported) })
    }

    /// The whole batch in one commit (one push): receipts not on the branch yet, their entries
    /// appended to the log in one piece, and the promotions.
    fn import<'a>(&'a self, batch: &'a Import) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut runs = Vec::with_capacity(batch.runs.len());
            for run in &batch.runs {
                let path = receipt::path(Path::new("runs"), &run.record.id)
                    .display()
                    .to_string();
                let entry = crate::secret::redact(&run.entry).into_owned();
                runs.push((path, receipt::to_json(&run.record)?.into_bytes(), entry));
            }
            let mut promotions = Vec::with_capacity(batch.promotions.len());
            for p in &batch.promotions {
                promotions.push((promotion_path(p), promotion_bytes(p)?));
            }
            self.write(|base| {
                let present: std::collections::HashSet<String> = match base {
                    Some(b) => self.list(b, "runs")?.into_iter().collect(),
                    None => std::collections::HashSet::new(),
                };
                let mut changes = Vec::new();
                let mut entries = String::new();
                for (path, bytes, entry) in &runs {
                    if present.contains(path) {
                        continue;
                    }
                    changes.push(Change::Put {
                        path: path.clone(),
                        bytes: bytes.clone(),
                        create_only: false,
                    });
                    entries.push_str(entry);
                }
                let copied = changes.len();
                if !entries.is_empty() {
                    changes.push(Change::Append {
                        path: LOG_PATH.to_owned(),
                        text: entries,
                        header: log::HEADER,
                    });
                }
                for (path, bytes) in &promotions {
                    changes.push(Change::Put {
                        path: path.clone(),
                        bytes: bytes.clone(),
                        create_only: true,
                    });
                }
                if changes.is_empty() {
                    return Ok(Plan::Nothing);
                }
                Ok(Plan::Commit(
                    changes,
                    format!(
                        "shipit: store migrate ({copied} runs, {} promotions)",
                        promotions.len()
                    ),
                ))
            })
            .with_context(|| self.context())
        })
    }
}
