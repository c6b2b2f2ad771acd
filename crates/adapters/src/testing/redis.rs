//! Redis for tests, like [`super::postgres`]: `TEST_REDIS_URL` when set; otherwise a throwaway
//! `redis-server` from the local binaries (`REDIS_SERVER`, or `redis-server` on the `PATH`) on a
//! free port, keeping nothing on disk, stopped when the test process exits; otherwise the test is
//! skipped and the skip recorded, unless `QS_REQUIRE_REDIS=1` makes it a failure (CI sets it).
//!
//! Tests share the server of their process: each uses keys of its own (random scopes, client
//! addresses or key ids), never `FLUSHDB`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::require::{Requirement, skip};

static SERVER: OnceCell<Result<String, String>> = OnceCell::const_new();

/// A `redis://` URL of a server for this test process, or `None` (test skipped, see [`skip`])
/// when there is none and `QS_REQUIRE_REDIS` is not on.
pub async fn test_redis_url() -> Option<String> {
    let server = SERVER
        .get_or_init(|| async {
            match std::env::var("TEST_REDIS_URL") {
                Ok(url) if !url.trim().is_empty() => Ok(url),
                _ => tokio::task::spawn_blocking(start)
                    .await
                    .unwrap_or_else(|e| Err(e.to_string())),
            }
        })
        .await;
    match server {
        Ok(url) => Some(url.clone()),
        Err(why) => {
            skip(Requirement::Redis, why);
            None
        }
    }
}

/// Starts a throwaway `redis-server` and returns its URL.
fn start() -> Result<String, String> {
    let port = free_port()?;
    let child = spawn(port)?;
    // Stop it once this test process has exited.
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; kill {server} 2>/dev/null",
        pid = std::process::id(),
        server = child.id()
    );
    Command::new("sh")
        .args(["-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the cleanup watchdog: {e}"))?;
    Ok(format!("redis://127.0.0.1:{port}"))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Starts `redis-server` on `port`, keeping nothing on disk, and waits until it answers.
fn spawn(port: u16) -> Result<Child, String> {
    let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned());
    let mut child = Command::new(&binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {binary} (install Debian's redis-server): {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if ping(port) {
            return Ok(child);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(format!(
                "{binary} did not answer on port {port} within 10 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` of one test's own, which the test can stop and start again on the same port
/// (an outage); stopped when dropped.
#[derive(Debug)]
pub struct OwnRedis {
    port: u16,
    server: Option<Child>,
}

impl OwnRedis {
    /// Starts one, or `None` (test skipped, see [`skip`]) when `redis-server` cannot run and
    /// `QS_REQUIRE_REDIS` is not on.
    pub fn start() -> Option<Self> {
        match free_port().and_then(|port| Ok((port, spawn(port)?))) {
            Ok((port, server)) => Some(OwnRedis {
                port,
                server: Some(server),
            }),
            Err(why) => {
                skip(Requirement::Redis, &why);
                None
            }
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (everything in it is lost).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts an empty server on the same port again.
    pub fn start_again(&mut self) -> Result<(), String> {
        self.stop();
        self.server = Some(spawn(self.port)?);
        Ok(())
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a Redis server answers `PING` on the port.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

/// Deletes what a test wrote under a key prefix of its own: every key starting with `prefix`
/// (a plain prefix, no glob characters), and apalis' note of the queues among them.
pub async fn delete_prefixed(url: &str, prefix: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut connection)
                .await
                .map_err(|e| e.to_string())?;
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    const QUEUES: &str = "core:apalis:queues:list";
    let queues: Vec<String> = redis::cmd("ZRANGE")
        .arg(QUEUES)
        .arg(0)
        .arg(-1)
        .query_async(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let ours: Vec<&String> = queues.iter().filter(|q| q.starts_with(prefix)).collect();
    if !ours.is_empty() {
        let _: i64 = redis::cmd("ZREM")
            .arg(QUEUES)
            .arg(ours)
            .query_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
