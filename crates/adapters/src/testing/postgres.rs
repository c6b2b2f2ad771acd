//! PostgreSQL for tests, a database per test.
//!
//! Where the server comes from:
//!
//! 1. `TEST_DATABASE_URL`, when set, names a server we may create databases on.
//! 2. Otherwise a throwaway server is started from the local PostgreSQL binaries
//!    (`pg_config --bindir`, or `PG_BINDIR`): a fresh cluster in a temporary directory on a free
//!    port, tuned for tests (see [`THROWAWAY_SETTINGS`] and [`Commits`]), stopped and deleted
//!    when the test process exits. As root, where `initdb` refuses to run, it runs as the
//!    `postgres` user through `runuser`.
//! 3. Otherwise, when a Docker engine answers (`DOCKER_HOST`, or the system's socket), a
//!    container of the locally built PostgreSQL image (`QS_POSTGRES_IMAGE`, default
//!    [`DEFAULT_IMAGE`], made by `scripts/docker-images.sh`) started through testcontainers, with
//!    the same settings, on the host's network and a free port, removed when the test process
//!    exits.
//! 4. Otherwise the tests are skipped and the skip recorded (see [`super::require`]), unless
//!    `QS_REQUIRE_POSTGRES=1`, in which case the absence of PostgreSQL fails them (CI sets it).
//!
//! `QS_POSTGRES_VIA` chooses between 2 and 3 (see [`Via`]): `local` only the binaries, `docker`
//! only a container; unset or `auto`, the binaries and else a container. With `docker`, a
//! missing engine or image skips the tests as a missing Docker engine, or fails them when
//! `QS_REQUIRE_DOCKER=1` (or `QS_REQUIRE_POSTGRES=1` alone).
//!
//! We use a small harness of our own rather than a crate such as pgtemp because sessions and CI
//! here run as root, which those crates do not handle.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;
use tokio::sync::OnceCell;

use super::require::{Requirement, required, skip};

/// The server of this test process, or what is missing (and why).
static SERVER: OnceCell<Result<String, (Requirement, String)>> = OnceCell::const_new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A URL to a new, empty database of its own, or `None` (test skipped, see [`skip`]) when
/// PostgreSQL is not available and `QS_REQUIRE_POSTGRES` is not on.
pub async fn test_database_url() -> Option<String> {
    let server = SERVER
        .get_or_init(|| async { locate_or_start().await })
        .await;
    let base = match server {
        Ok(base) => base,
        Err((requirement, why)) => {
            skip(*requirement, why);
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

/// Where the harness gets a server when `TEST_DATABASE_URL` is unset: `QS_POSTGRES_VIA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Unset, empty or `auto`: the local binaries, else a container when a Docker engine answers.
    Auto,
    /// `local`: the local binaries only.
    Local,
    /// `docker`: a container only.
    Docker,
}

impl Via {
    /// `QS_POSTGRES_VIA`, read once per server. Panics on a value it does not know.
    pub fn from_env() -> Self {
        Self::parse(std::env::var("QS_POSTGRES_VIA").ok().as_deref())
            .unwrap_or_else(|why| panic!("{why}"))
    }

    /// What a value of `QS_POSTGRES_VIA` means.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("" | "auto") => Ok(Via::Auto),
            Some("local") => Ok(Via::Local),
            Some("docker") => Ok(Via::Docker),
            Some(other) => Err(format!(
                "QS_POSTGRES_VIA={other:?} is not one of auto, local, docker"
            )),
        }
    }
}

async fn locate_or_start() -> Result<String, (Requirement, String)> {
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    match Via::from_env() {
        Via::Docker => container::start()
            .await
            .map_err(|why| (container_requirement(), why)),
        via => match start_local().await {
            Ok(url) => Ok(url),
            Err(why) if via == Via::Local => Err((Requirement::Postgres, why)),
            Err(why) => container::start().await.map_err(|docker| {
                (
                    Requirement::Postgres,
                    format!("{why}; and no container instead: {docker}"),
                )
            }),
        },
    }
}

async fn start_local() -> Result<String, String> {
    tokio::task::spawn_blocking(start_throwaway_server)
        .await
        .map_err(|e| e.to_string())?
}

/// What a missing container is recorded as when one was asked for (`QS_POSTGRES_VIA=docker`):
/// a missing Docker engine, unless only `QS_REQUIRE_POSTGRES` is on, which a skip would break.
fn container_requirement() -> Requirement {
    if required(Requirement::Postgres) && !required(Requirement::Docker) {
        Requirement::Postgres
    } else {
        Requirement::Docker
    }
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

/// The settings of a throwaway server committing as told, as `name=value` words.
fn settings(commits: Commits) -> String {
    let synchronous_commit = match commits {
        Commits::SurviveServerCrash => "on",
        Commits::Fast => "off",
    };
    format!("{THROWAWAY_SETTINGS} synchronous_commit={synchronous_commit}")
}

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
        settings(self.commits)
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

/// The tag of the tests' PostgreSQL image that `scripts/docker-images.sh` builds, started when
/// `QS_POSTGRES_IMAGE` names no other.
pub const DEFAULT_IMAGE: &str = "quickscale/test-postgres:local";

/// A PostgreSQL server in a container, through testcontainers: the way of last resort (see the
/// module's documentation).
mod container {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use testcontainers::core::WaitFor;
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{GenericImage, ImageExt};

    use super::{Commits, DEFAULT_IMAGE, free_port, settings};

    /// What the image's server logs once it accepts connections.
    const READY: &str = "database system is ready to accept connections";

    /// Starts a container of the test image, kept for this test process's lifetime and removed
    /// once it has exited; returns its URL.
    pub(super) async fn start() -> Result<String, String> {
        let image = std::env::var("QS_POSTGRES_IMAGE")
            .ok()
            .filter(|image| !image.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_IMAGE.to_owned());
        let (name, tag) = split_image(&image);
        // The host's network, on a port of our own: an engine needs no bridge for it (the one
        // scripts/docker-engine.sh starts has none), and the machine's own PostgreSQL may hold
        // 5432.
        let port = free_port()?;
        let mut command = vec!["-p".to_owned(), port.to_string()];
        for setting in settings(Commits::Fast).split_whitespace() {
            command.extend(["-c".to_owned(), setting.to_owned()]);
        }
        let started = Instant::now();
        let container = GenericImage::new(name, tag)
            .with_wait_for(WaitFor::message_on_stderr(READY))
            .with_network("host")
            .with_container_name(format!("qs-test-postgres-{}-{port}", std::process::id()))
            .with_cmd(command)
            .with_startup_timeout(Duration::from_secs(60))
            .start()
            .await
            .map_err(|e| {
                format!(
                    "cannot start a container of {image}: {e} (start an engine and build the \
                     image: export DOCKER_HOST=$(scripts/docker-engine.sh) && \
                     scripts/docker-images.sh)"
                )
            })?;
        let id = container.id().to_owned();
        remove_after_exit(&id)?;
        // Kept, like the throwaway cluster, for the whole test process: the tests of one binary
        // share it, each on its own database. The watchdog above removes it.
        std::mem::forget(container);
        eprintln!(
            "started PostgreSQL in a container ({image}, {short}) on port {port} in {ms} ms",
            short = &id[..id.len().min(12)],
            ms = started.elapsed().as_millis()
        );
        Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
    }

    /// `name:tag` (a registry host's port is part of the name), `latest` when no tag is given.
    pub(super) fn split_image(image: &str) -> (&str, &str) {
        match image.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (image, "latest"),
        }
    }

    /// Removes the container once this test process has exited, with the Docker client of the
    /// PATH (the engine is the one testcontainers used: `DOCKER_HOST` or the system's socket).
    fn remove_after_exit(id: &str) -> Result<(), String> {
        let watchdog = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; docker rm -f -v {id} >/dev/null 2>&1",
            pid = std::process::id()
        );
        Command::new("sh")
            .args(["-c", &watchdog])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| format!("cannot start the container's cleanup watchdog: {e}"))
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

    #[test]
    fn via_reads_the_switch() {
        use super::Via;
        assert_eq!(Via::parse(None), Ok(Via::Auto));
        assert_eq!(Via::parse(Some("")), Ok(Via::Auto));
        assert_eq!(Via::parse(Some("auto")), Ok(Via::Auto));
        assert_eq!(Via::parse(Some("local")), Ok(Via::Local));
        assert_eq!(Via::parse(Some(" docker ")), Ok(Via::Docker));
        assert!(Via::parse(Some("podman")).is_err());
    }

    #[test]
    fn image_names_split_into_name_and_tag() {
        use super::container::split_image;
        assert_eq!(
            split_image("quickscale/test-postgres:local"),
            ("quickscale/test-postgres", "local")
        );
        assert_eq!(split_image("postgres"), ("postgres", "latest"));
        assert_eq!(
            split_image("registry.local:5000/pg"),
            ("registry.local:5000/pg", "latest")
        );
        assert_eq!(
            split_image("registry.local:5000/pg:15"),
            ("registry.local:5000/pg", "15")
        );
    }
}
