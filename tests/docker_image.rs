//! The generated project's Dockerfile: `docker build` of the project folder alone, then the
//! image run against SQLite (its database in a volume, kept across containers) and against
//! PostgreSQL, with the five-minute journey over HTTP each time.
//!
//! The image is built with `--build-arg CARGO_PROFILE=dev` (`QS_DOCKER_CARGO_PROFILE` chooses
//! another): the same recipe as the default release build, compiled several times faster.
//!
//! docker-compose.yml is checked with Debian's `docker-compose` (1.29). Needs a Docker engine (`DOCKER_HOST`, e.g. `$(scripts/docker-engine.sh)`) and the Rust build
//! image `scripts/docker-images.sh rust-build` makes (`QS_RUST_BUILD_IMAGE`), since no public
//! image registry may be reachable; it skips without them unless `QS_REQUIRE_DOCKER=1`. The
//! containers use the host's network (the private engine has no bridge). The image build is
//! cached by the engine: the same generated project builds from the layer cache, and a changed
//! one reuses Cargo's registry and target folder from the Dockerfile's cache mounts.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use quickscale_adapters::testing::require::{Requirement, skip};

use crate::support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, HttpBrowser as Browser, PASSWORD, free_port, init, measure, text,
};

/// Debian's client: a newer one earlier on the PATH may need the buildx plugin.
const DOCKER: &str = "/usr/bin/docker";
const COMPOSE: &str = "/usr/bin/docker-compose";
const IMAGE: &str = "quickscale-test/docker-app:latest";
/// The runtime image's size limit, uncompressed.
const MAX_IMAGE_BYTES: u64 = 120 * 1000 * 1000;

fn docker() -> Command {
    let mut command = Command::new(DOCKER);
    command.stdin(Stdio::null()).env("DOCKER_BUILDKIT", "1");
    command
}

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("docker runs");
    assert!(
        output.status.success(),
        "{command:?}:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// The build image, or why the test cannot run.
fn build_image() -> Result<String, String> {
    if !Path::new(DOCKER).is_file() {
        return Err(format!("{DOCKER} is missing (Debian's docker.io)"));
    }
    if std::env::var_os("DOCKER_HOST").is_none_or(|h| h.is_empty()) {
        return Err(
            "DOCKER_HOST is not set: export DOCKER_HOST=$(scripts/docker-engine.sh)".into(),
        );
    }
    let version = docker()
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .map_err(|e| e.to_string())?;
    if !version.status.success() {
        return Err(format!(
            "no engine answers: {}",
            text(&version.stderr).trim()
        ));
    }
    let image = std::env::var("QS_RUST_BUILD_IMAGE")
        .ok()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| "quickscale/rust-build:local".into());
    let found = docker().args(["image", "inspect", &image]).output();
    if !found.is_ok_and(|o| o.status.success()) {
        return Err(format!(
            "the build image {image} is missing: scripts/docker-images.sh rust-build makes it"
        ));
    }
    Ok(image)
}

/// A container of the image, removed when dropped.
struct Container {
    id: String,
    port: u16,
}

impl Container {
    fn start(env: &[(&str, String)], volume: Option<&str>) -> Container {
        let port = free_port();
        let mut command = docker();
        command.args(["run", "-d", "--network", "host"]);
        let mut env = env.to_vec();
        env.extend([
            ("PORT", port.to_string()),
            (
                "SECRET_KEY",
                "docker-test-secret-key-0123456789abcdef".into(),
            ),
            ("ADMIN_EMAIL", ADMIN_EMAIL.into()),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
        ]);
        for (key, value) in &env {
            command.args(["-e", &format!("{key}={value}")]);
        }
        if let Some(volume) = volume {
            command.args(["-v", &format!("{volume}:/app/data")]);
        }
        let output = run(command.arg(IMAGE));
        Container {
            id: text(&output.stdout).trim().to_owned(),
            port,
        }
    }

    fn logs(&self) -> String {
        let output = docker().args(["logs", &self.id]).output().unwrap();
        text(&output.stdout) + &text(&output.stderr)
    }

    async fn wait_until_ready(&self) {
        let started = Instant::now();
        let client = crate::support::http_client(reqwest::Client::builder());
        loop {
            let url = format!("http://127.0.0.1:{}/health", self.port);
            if let Ok(response) = client.get(&url).send().await
                && response.status() == 200
            {
                return;
            }
            let state = docker()
                .args(["inspect", "--format", "{{.State.Running}}", &self.id])
                .output()
                .unwrap();
            assert!(
                text(&state.stdout).trim() == "true",
                "the container stopped:\n{}",
                self.logs()
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no answer within 60 s:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for Docker's verdict from the image's HEALTHCHECK.
    fn wait_until_healthy(&self) {
        let started = Instant::now();
        loop {
            let health = docker()
                .args(["inspect", "--format", "{{.State.Health.Status}}", &self.id])
                .output()
                .unwrap();
            let status = text(&health.stdout).trim().to_owned();
            if status == "healthy" {
                return;
            }
            assert!(
                status != "unhealthy" && started.elapsed() < Duration::from_secs(90),
                "health {status}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker()
            .args(["rm", "-f", "-v", &self.id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test]
async fn the_generated_image_builds_and_runs_on_sqlite_and_postgres() {
    let build_image = match build_image() {
        Ok(image) => image,
        Err(why) => return skip(Requirement::Docker, &why),
    };
    let dir = init("docker-app");

    // The compose file, as Debian's docker-compose (1.29) reads it. Running it would pull
    // PostgreSQL's image from a registry, which these machines cannot reach.
    if Path::new(COMPOSE).is_file() {
        let config = run(Command::new(COMPOSE)
            .args(["config"])
            .current_dir(&dir)
            .stdin(Stdio::null()));
        let config = text(&config.stdout);
        for expected in [
            "condition: service_healthy",
            "app-data:/app/data",
            "context:",
        ] {
            assert!(config.contains(expected), "{expected} in:\n{config}");
        }
    } else {
        skip(
            Requirement::Docker,
            &format!("{COMPOSE} is missing (Debian's docker-compose) to check docker-compose.yml"),
        );
    }

    // From the project folder alone, as `docker build .` does it, with Cargo's `dev` profile
    // unless QS_DOCKER_CARGO_PROFILE names another (`release`, the Dockerfile's default, takes
    // several times longer to compile: docs/testing.md has both times).
    let profile = std::env::var("QS_DOCKER_CARGO_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "dev".into());
    let started = Instant::now();
    let built = docker()
        .args(["build", "--network", "host", "--build-arg"])
        .arg(format!("BUILD_IMAGE={build_image}"))
        .arg("--build-arg")
        .arg(format!("CARGO_PROFILE={profile}"))
        .args(["--tag", IMAGE, "."])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "docker build failed:\n{}\n{}",
        text(&built.stdout),
        text(&built.stderr)
    );
    let dockerfile = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert!(!dockerfile.contains("# syntax="), "no frontend to pull");
    let inspect = |format: &str| {
        text(&run(docker().args(["image", "inspect", "--format", format, IMAGE])).stdout)
            .trim()
            .to_owned()
    };
    let size: u64 = inspect("{{.Size}}").parse().unwrap();
    measure(format!(
        "docker build of the generated project (Cargo profile {profile}): {:.1} s; runtime \
         image {:.1} MB",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    ));
    assert!(
        size < MAX_IMAGE_BYTES,
        "the runtime image is {size} bytes, over {MAX_IMAGE_BYTES}"
    );
    assert_eq!(inspect("{{.Config.User}}"), "10001:10001", "not root");
    assert!(inspect("{{json .Config.Volumes}}").contains("/app/data"));
    assert!(inspect("{{json .Config.Healthcheck}}").contains("health"));

    // SQLite in a volume: the journey, then a new container on the same volume finds the data.
    let volume = format!("docker-app-data-{}", std::process::id());
    let _ = docker().args(["volume", "rm", "-f", &volume]).output();
    {
        let app = Container::start(&[], Some(&volume));
        app.wait_until_ready().await;
        crate::generated_project::journey(app.port, "Docker App").await;
        app.wait_until_healthy();
    }
    {
        let app = Container::start(&[], Some(&volume));
        app.wait_until_ready().await;
        let mut ada = Browser::new(app.port);
        ada.sign_in("ada@example.com", PASSWORD).await;
        assert_eq!(ada.get("/dashboard").await.balance(), "101");
    }
    let _ = docker().args(["volume", "rm", "-f", &volume]).output();

    // PostgreSQL: the machine's (a throwaway server from the harness), over the host's network.
    // Without one the harness records the skip (or fails under QS_REQUIRE_POSTGRES).
    if let Some(url) = quickscale_adapters::testing::postgres::test_database_url().await {
        let app = Container::start(&[("DATABASE_URL", url)], None);
        app.wait_until_ready().await;
        crate::generated_project::journey(app.port, "Docker App").await;
    }
}
