//! PostgreSQL for tests, a database per test.
//!
//! 1. `TEST_DATABASE_URL`, when set, names a server we may create databases on.
//! 2. Otherwise a throwaway server is started from the local PostgreSQL binaries
//!    (`pg_config --bindir`, or `PG_BINDIR`): a fresh cluster in a temporary directory on a free
//!    port, tuned for tests (see [`THROWAWAY_SETTINGS`] and [`Commits`]), stopped and deleted
//!    when the test process exits. As root, where `initdb` refuses to run, it runs as the
//!    `postgres` user through `runuser`.
//! 3. Otherwise the tests are skipped and the skip recorded (see [`super::require`]), unless
//!    `QS_REQUIRE_POSTGRES=1`, in which case the absence of PostgreSQL fails them (CI sets it).
//!
//! (Users with a Docker engine can point `TEST_DATABASE_URL` at a container.)
//!
//! We use a small harness of our own rather than a crate such as pgtemp because sessions and CI
//! here run as root, which those crates do not handle.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;
use tokio::sync::OnceCell;

use super::require::{Requirement, skip};

static SERVER: OnceCell<Result<String, String>> = OnceCell::const_new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A URL to a new, empty database of its own, or `None` (test skipped, see [`skip`]) when
/// PostgreSQL is not available and `QS_REQUIRE_POSTGRES` is not on.
pub async fn test_database_url() -> Option<String> {
    let server = SERVER
        .get_or_init(|| async { locate_or_start().await })
        .await;
    let base = match server {
        Ok(base) => base,
        Err(why) => {
            skip(Requirement::Postgres, why);
            return None;
        }
    };
    let name = format!(
        "qs_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&with_database(base, "postgres"))
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let _ = admin.close().await;
    Some(with_database(base, &name))
}

/// Replaces the database name of a `postgres://` URL.
fn with_database(url: &str, database: &str) -> String {
    let (without_query, query) = match url.split_once('?') {
        Some((u, q)) => (u, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_end = without_query
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| without_query[start..].find('/').map(|i| start + i))
        .unwrap_or(without_query.len());
    format!("{}/{database}{query}", &without_query[..authority_end])
}

async fn locate_or_start() -> Result<String, String> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    tokio::task::spawn_blocking(start_throwaway_server)
        .await
        .map_err(|e| e.to_string())?
}

fn bindir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let output = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .map_err(|e| format!("pg_config not found ({e}); set TEST_DATABASE_URL or PG_BINDIR"))?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if dir.join("initdb").exists() {
        Ok(dir)
    } else {
        Err(format!(
            "no initdb in {} (install the PostgreSQL server package)",
            dir.display()
        ))
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root.
fn pg_command(bindir: &Path, program: &str, as_postgres: bool) -> Command {
    let binary = bindir.join(program);
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(binary);
        command
    } else {
        Command::new(binary)
    }
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn start_throwaway_server() -> Result<String, String> {
    let cluster = Cluster::start_with(Commits::Fast)?;
    eprintln!(
        "started a throwaway PostgreSQL server on port {}",
        cluster.port
    );
    Ok(cluster.url())
}

/// When a throwaway server acknowledges a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commits {
    /// Once written to the operating system (`synchronous_commit=on`, still `fsync=off`): a
    /// commit survives the server being killed, as outage tests do, though not the machine
    /// losing power.
    SurviveServerCrash,
    /// Before that (`synchronous_commit=off`): the fastest, for a server that is never
    /// stopped. Killing it loses the last commits it acknowledged.
    Fast,
}

/// A throwaway PostgreSQL cluster of its own: for tests that stop and restart the server
/// (outages). Deleted when the test process exits.
#[derive(Debug)]
pub struct Cluster {
    bindir: PathBuf,
    as_postgres: bool,
    root: PathBuf,
    data: PathBuf,
    port: u16,
    commits: Commits,
}

/// The settings of every throwaway server, whatever its commits: no fsync, no full-page writes
/// (both only protect against the machine crashing, which a throwaway server need not survive).
pub const THROWAWAY_SETTINGS: &str =
    "fsync=off full_page_writes=off max_connections=300 listen_addresses=127.0.0.1";

impl Cluster {
    /// initdb, start with commits that survive the server being killed (see [`Commits`]), and
    /// arrange for deletion when this process exits.
    pub fn start() -> Result<Self, String> {
        Self::start_with(Commits::SurviveServerCrash)
    }

    /// [`Cluster::start`], or `None` when PostgreSQL is missing and not required (the skip is
    /// recorded, see [`skip`]).
    pub fn start_or_skip() -> Option<Self> {
        Self::start()
            .map_err(|why| skip(Requirement::Postgres, &why))
            .ok()
    }

    /// Like [`Cluster::start`], committing as told.
    pub fn start_with(commits: Commits) -> Result<Self, String> {
        let bindir = bindir()?;
        let as_postgres = running_as_root();
        let root = tempfile::Builder::new()
            .prefix("qs-pg-")
            .tempdir_in(std::env::temp_dir())
            .map_err(|e| e.to_string())?
            .keep();
        let data = root.join("data");
        if as_postgres {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres:postgres"]).arg(&root);
            run(chown, "chown of the test cluster directory")?;
        }
        let mut initdb = pg_command(&bindir, "initdb", as_postgres);
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb, "initdb")?;
        let cluster = Cluster {
            bindir,
            as_postgres,
            root,
            data,
            port: free_port()?,
            commits,
        };
        cluster.start_server()?;

        // Stop and delete the cluster once this test process has exited.
        let stop = format!(
            "{runuser}{pg_ctl} -D {data} stop -m immediate",
            runuser = if as_postgres {
                "runuser -u postgres -- "
            } else {
                ""
            },
            pg_ctl = cluster.bindir.join("pg_ctl").display(),
            data = cluster.data.display()
        );
        let watchdog = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {root}",
            pid = std::process::id(),
            root = cluster.root.display()
        );
        Command::new("sh")
            .args(["-c", &watchdog])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the cleanup watchdog: {e}"))?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Every setting the server runs with beyond PostgreSQL's defaults, as `name=value` words.
    pub fn settings(&self) -> String {
        let synchronous_commit = match self.commits {
            Commits::SurviveServerCrash => "on",
            Commits::Fast => "off",
        };
        format!("{THROWAWAY_SETTINGS} synchronous_commit={synchronous_commit}")
    }

    fn start_server(&self) -> Result<(), String> {
        let settings: String = self
            .settings()
            .split_whitespace()
            .map(|setting| format!(" -c {setting}"))
            .collect();
        let options = format!(
            "-p {port} -k {socket}{settings}",
            port = self.port,
            socket = self.root.display()
        );
        let mut start = pg_command(&self.bindir, "pg_ctl", self.as_postgres);
        start
            .arg("-D")
            .arg(&self.data)
            .arg("-o")
            .arg(&options)
            .arg("-l")
            .arg(self.root.join("server.log"))
            .args(["-w", "-t", "30", "start"]);
        run(start, "pg_ctl start")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "the throwaway server did not listen on port {}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Stops the server at once (connections are cut, like a crash).
    pub fn stop(&self) -> Result<(), String> {
        let mut stop = pg_command(&self.bindir, "pg_ctl", self.as_postgres);
        stop.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        run(stop, "pg_ctl stop")
    }

    /// Starts the stopped server again on the same port.
    pub fn restart(&self) -> Result<(), String> {
        self.start_server()
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:5432/x?sslmode=disable", "y"),
            "postgres://u@h:5432/y?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "y"),
            "postgres://u@h:5432/y"
        );
    }
}
