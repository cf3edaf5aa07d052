//! A real PostgreSQL server for one test: `initdb` + `pg_ctl` on a free port of 127.0.0.1 in a
//! temporary folder, stopped when the value is dropped (also when the test panics).
//!
//! The server binaries are found as: env `SHIPIT_TEST_PG_BINDIR`, else `pg_config --bindir`,
//! else the newest `/usr/lib/postgresql/*/bin`. A missing binary panics with what to install:
//! it is a test-setup failure, never a silent skip. PostgreSQL refuses to run as root, so when
//! the tests run as root the server runs as `nobody` (the data folder is handed to that user).
//!
//! TCP connections need a password (scram-sha-256; [`PASSWORD`]), so tests can check that a
//! URL's password never shows; the Unix socket in the data folder trusts the local user, which
//! is how [`Postgres::psql`] loads fixtures.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The superuser every test server is created with.
pub const USER: &str = "shipit";
/// Its password over TCP: a known secret tests grep outputs for.
pub const PASSWORD: &str = "pg-test-pw-do-not-leak-5150";

pub struct Postgres {
    /// Holds the data folder, the socket and the log; removed last.
    dir: tempfile::TempDir,
    pub port: u16,
    bindir: PathBuf,
    /// `Some((uid, gid))` when the server runs as another user (the tests run as root).
    run_as: Option<(u32, u32)>,
}

impl Postgres {
    /// Starts a fresh server; panics with a clear message when it cannot.
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// Starts a fresh server that accepts TCP connections over TLS only (`ssl = on` with a
    /// self-signed certificate made by `openssl` in the temporary folder; `hostssl` lines in
    /// pg_hba.conf and a `hostnossl ... reject`). The Unix socket stays trusted for [`psql`].
    ///
    /// [`psql`]: Postgres::psql
    pub fn start_tls() -> Postgres {
        Postgres::start_with(true)
    }

    fn start_with(tls: bool) -> Postgres {
        let bindir = bindir();
        for tool in ["initdb", "pg_ctl", "postgres"] {
            assert!(
                bindir.join(tool).is_file(),
                "test setup: PostgreSQL's `{tool}` is not in {}: install the server \
                 (`apt-get install -y postgresql`) or set SHIPIT_TEST_PG_BINDIR",
                bindir.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("shipit-pg-")
            .tempdir()
            .expect("temp dir for PostgreSQL");
        let run_as = if unsafe_free_is_root() {
            Some(nobody())
        } else {
            None
        };
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .expect("hand the PostgreSQL folder to nobody");
        }
        let pg = Postgres {
            dir,
            port: 0,
            bindir,
            run_as,
        };
        let pwfile = pg.dir.path().join("pwfile");
        std::fs::write(&pwfile, PASSWORD).expect("write pwfile");
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).expect("chown pwfile");
        }
        let data = pg.data_dir();
        let out = pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                "--pwfile",
                pwfile.to_str().unwrap(),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ],
        );
        assert!(
            out.status.success(),
            "test setup: initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut pg = pg;
        let tls_opts = if tls { pg.require_tls() } else { String::new() };
        // A free port can be taken by someone else between asking and binding: try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let opts = format!(
                "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} \
                 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
                 -c max_connections=60 -c shared_buffers=16MB{tls_opts}",
                pg.dir.path().display()
            );
            let log = pg.dir.path().join("server.log");
            let out = pg.run(
                "pg_ctl",
                &[
                    "start",
                    "-D",
                    data.to_str().unwrap(),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    log.to_str().unwrap(),
                    "-o",
                    &opts,
                ],
            );
            if out.status.success() {
                pg.port = port;
                return pg;
            }
            last_error = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("test setup: PostgreSQL did not start: {last_error}");
    }

    /// Makes a self-signed certificate for 127.0.0.1 and lets TCP clients in over TLS only;
    /// returns the server options that turn TLS on.
    fn require_tls(&self) -> String {
        let (key, cert) = (
            self.dir.path().join("server.key"),
            self.dir.path().join("server.crt"),
        );
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2"])
            .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "test setup: cannot run openssl ({e}): install it (`apt-get install -y openssl`) \
                     to test PostgreSQL over TLS"
                )
            });
        assert!(
            out.status.success(),
            "test setup: openssl could not make a certificate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The server reads its key only when no one else can.
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod the server key");
        if let Some((uid, gid)) = self.run_as {
            for f in [&key, &cert] {
                std::os::unix::fs::chown(f, Some(uid), Some(gid)).expect("chown the certificate");
            }
        }
        std::fs::write(
            self.data_dir().join("pg_hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .expect("write pg_hba.conf");
        format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            cert.display(),
            key.display()
        )
    }

    /// The server's TLS connections from TCP clients right now, as `version cipher` lines
    /// (`pg_stat_ssl`): what proves a client really used TLS.
    pub fn tls_connections(&self) -> Vec<String> {
        self.psql(
            "postgres",
            "SELECT s.version || ' ' || s.cipher FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE s.ssl AND a.client_addr IS NOT NULL ORDER BY 1",
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The folder of the server's binaries (`pg_dump`, `pg_restore`, `psql`, ...).
    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// A TCP URL to database `db`, password included, TLS off.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Runs SQL with psql over the trusted Unix socket and returns its stdout; panics on error
    /// (`ON_ERROR_STOP`), showing psql's stderr.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let psql = self.client_tool("psql");
        let out = Command::new(psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", self.dir.path().to_str().unwrap()])
            .args(["-p", &self.port.to_string(), "-U", USER, "-d", db])
            .arg("-c")
            .arg(sql)
            .env_remove("PGPASSWORD")
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed on `{sql}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates database `name`.
    pub fn create_db(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
    }

    /// Names of the databases that exist (templates excluded).
    pub fn databases(&self) -> Vec<String> {
        self.psql(
            "postgres",
            "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1",
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// A client binary (`psql`, `pg_dump`, `pg_restore`): beside the server, else on PATH.
    pub fn client_tool(&self, name: &str) -> PathBuf {
        let beside = self.bindir.join(name);
        if beside.is_file() {
            beside
        } else {
            PathBuf::from(name)
        }
    }

    /// Runs a server tool, as `nobody` when the tests run as root.
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bindir.join(tool);
        let mut cmd = match self.run_as {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(exe);
                c
            }
            None => Command::new(exe),
        };
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST");
        cmd.output()
            .unwrap_or_else(|e| panic!("test setup: cannot run {tool}: {e}"))
    }

    /// Stops the server now (drop does the same).
    pub fn stop(&self) {
        if self.port != 0 {
            let data = self.data_dir();
            let _ = self.run(
                "pg_ctl",
                &[
                    "stop",
                    "-D",
                    data.to_str().unwrap(),
                    "-m",
                    "immediate",
                    "-w",
                ],
            );
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

fn bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("SHIPIT_TEST_PG_BINDIR") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() {
            return dir;
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, p)| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map_or_else(
        || {
            panic!(
                "test setup: no PostgreSQL server found (no pg_config, nothing in \
                 /usr/lib/postgresql): install it with `apt-get install -y postgresql` or set \
                 SHIPIT_TEST_PG_BINDIR"
            )
        },
        |(_, p)| p,
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Whether the tests run as root, read from `/proc/self/status` (no unsafe `geteuid`).
fn unsafe_free_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// `nobody`'s uid and gid from /etc/passwd.
fn nobody() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"nobody"))
                .then(|| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))
                .flatten()
        })
        .expect("test setup: running as root needs the `nobody` user to run PostgreSQL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_server_starts_answers_and_stops() {
        let pg = Postgres::start();
        assert_eq!(pg.psql("postgres", "SELECT 1 + 1").trim(), "2");
        pg.create_db("scratch_one");
        assert!(pg.databases().contains(&"scratch_one".to_owned()));
        let data = pg.data_dir();
        drop(pg);
        assert!(!data.exists(), "the data folder is removed with the server");
    }
}

#[cfg(test)]
mod pg_edge {
    use super::*;

    /// shipit's own connection edge (`shipit::pg`) against the real server: password auth over
    /// TCP works, and a wrong password fails without showing the right one.
    #[test]
    fn shipit_connects_over_tcp_with_the_url_password() {
        let pg = Postgres::start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let target = shipit::pg::parse(&pg.url("postgres")).unwrap();
            let client = shipit::pg::connect(&target, "the test server")
                .await
                .unwrap();
            let row = client.query_one("SELECT 40 + 2", &[]).await.unwrap();
            assert_eq!(row.get::<_, i32>(0), 42);
            let bad = pg.url("postgres").replace(PASSWORD, "wrong-pw");
            let target = shipit::pg::parse(&bad).unwrap();
            let err = shipit::pg::connect(&target, "the test server")
                .await
                .unwrap_err();
            let text = format!("{err:#}");
            assert!(text.contains("127.0.0.1"), "{text}");
            assert!(
                !text.contains(PASSWORD) && !text.contains("wrong-pw"),
                "{text}"
            );
        });
    }
}
