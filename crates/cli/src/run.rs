//! Building a project with Cargo and running its binary: `up`, `migrate`, `create-admin`,
//! `check`, `verify-ledger`, `billing reconcile`. Each is the binary's own command
//! (`quickscale_app_web::cli::Command`), whose arguments are declared once, in the app.

use std::io::BufRead as _;
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};

use anyhow::{Context as _, bail};
use quickscale_app_web::cli::{CheckArgs, Command as AppCommand, ServeArgs};

use crate::cargo_env::without_cargo_context;
use crate::project::Project;

/// The Cargo to run: the one running us when there is one, else `cargo` from the PATH.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .filter(|c| !c.is_empty())
        .map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Builds the project's binary, showing Cargo's own progress, and returns its path.
pub fn build(project: &Project, release: bool) -> anyhow::Result<PathBuf> {
    let mut command = Command::new(cargo());
    without_cargo_context(&mut command)
        .current_dir(&project.dir)
        .args(["build", "--bin", &project.bin])
        .arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if release {
        command.arg("--release");
    }
    let target_dir = project.target_dir();
    if let Some(dir) = &target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    eprintln!(
        "Building {}{}…",
        project.package,
        target_dir
            .as_ref()
            .map(|d| format!(" in {} (shared with QuickScale)", d.display()))
            .unwrap_or_default()
    );
    let mut child = command.spawn().map_err(|e| {
        anyhow::anyhow!(
            "cannot run cargo ({e}). Install Rust from https://rustup.rs, open a new terminal, \
             then run `quickscale check`."
        )
    })?;
    let mut executable = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.context("reading cargo's output")?;
            if let Some(path) = executable_of(&line, &project.bin) {
                executable = Some(path);
            }
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("the build failed: Cargo's messages above say why");
    }
    executable.with_context(|| format!("cargo built no binary named {}", project.bin))
}

/// The binary's path in one of Cargo's JSON messages, if the message is about it.
fn executable_of(line: &str, bin: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message.get("reason")?.as_str()? != "compiler-artifact" {
        return None;
    }
    let target = message.get("target")?;
    let is_bin = target
        .get("kind")?
        .as_array()?
        .iter()
        .any(|k| k.as_str() == Some("bin"));
    if !is_bin || target.get("name")?.as_str()? != bin {
        return None;
    }
    message.get("executable")?.as_str().map(PathBuf::from)
}

/// Refuses early, before a build, when the app could not listen.
pub fn check_port(host: IpAddr, port: u16) -> anyhow::Result<()> {
    match TcpListener::bind((host, port)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => bail!(
            "port {port} is already in use on {host}: another app (or another `quickscale up`) \
             listens there. Stop it, or choose another port: quickscale up --port {}",
            port.checked_add(1).unwrap_or(8000)
        ),
        Err(e) => bail!(
            "cannot listen on {host} port {port}: {e}. Choose another with --host and --port."
        ),
    }
}

/// Runs `command` of the app's binary in the project folder with our terminal, until it exits;
/// Ctrl-C and SIGTERM reach it (it shuts down gracefully). Its exit code becomes ours.
pub fn run_binary(
    project: &Project,
    binary: &Path,
    command: &AppCommand,
    env: &[(&str, String)],
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        #[cfg(unix)]
        let (mut interrupt, mut terminate) = {
            use tokio::signal::unix::{SignalKind, signal};
            (
                signal(SignalKind::interrupt()).context("listening for Ctrl-C")?,
                signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            )
        };
        let mut child = tokio::process::Command::new(binary)
            .args(command.to_args())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(&project.dir)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id();
        loop {
            #[cfg(unix)]
            tokio::select! {
                status = child.wait() => return Ok(exit_code(status?)),
                _ = interrupt.recv() => forward(pid, "INT"),
                _ = terminate.recv() => forward(pid, "TERM"),
            }
            #[cfg(not(unix))]
            {
                let _ = pid;
                return Ok(exit_code(child.wait().await?));
            }
        }
    })
}

/// Passes a signal on to the app. From a terminal, Ctrl-C reaches the app directly as well; a
/// second SIGINT while it shuts down is harmless.
#[cfg(unix)]
fn forward(pid: Option<u32>, signal: &str) {
    if let Some(pid) = pid {
        let _ = Command::new("kill")
            .args(["-s", signal, &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn exit_code(status: ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + signal).unwrap_or(1));
        }
    }
    ExitCode::FAILURE
}

/// Keeps glibc returning large freed blocks to the system (see [`up`]).
pub const MALLOC_TUNABLES: &str = "glibc.malloc.mmap_threshold=131072";

/// `quickscale up`: the binary's `serve`.
pub fn up(serve: ServeArgs, release: bool) -> anyhow::Result<ExitCode> {
    let project = Project::find(&std::env::current_dir()?)?;
    let (effective_host, effective_port) = project.address(serve.host, serve.port)?;
    check_port(effective_host, effective_port)?;
    let binary = build(&project, release)?;
    // Also in the environment, where the app derives its default BASE_URL (the address its
    // banner and e-mails show) from them.
    let mut env = Vec::new();
    // glibc raises its mmap threshold after the first large free, and from then on keeps the
    // 19 MiB of every password hash (argon2) in its arenas: a fixed threshold gives that memory
    // back. It roughly halves the resident memory of an app where people sign in.
    if std::env::var_os("GLIBC_TUNABLES").is_none() {
        env.push(("GLIBC_TUNABLES", MALLOC_TUNABLES.to_owned()));
    }
    if let Some(host) = serve.host {
        env.push(("HOST", host.to_string()));
    }
    if let Some(port) = serve.port {
        env.push(("PORT", port.to_string()));
    }
    run_binary(&project, &binary, &AppCommand::Serve(serve), &env)
}

/// `quickscale migrate`, `create-admin`, `verify-ledger`, `billing reconcile`: the binary's
/// command of the same name.
pub fn app_command(command: &AppCommand, release: bool) -> anyhow::Result<ExitCode> {
    let project = Project::find(&std::env::current_dir()?)?;
    let binary = build(&project, release)?;
    run_binary(&project, &binary, command, &[])
}

/// `quickscale check`: the toolchain, the project, then the app's own checks (with
/// `--production`, the settings production refuses too).
pub fn check(release: bool, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut healthy = check_toolchain();
    let project = match Project::find(&std::env::current_dir()?) {
        Ok(project) => {
            println!("✓ project {} in {}", project.package, project.dir.display());
            project
        }
        Err(error) => {
            println!("✗ {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    match (&project.vendored, &project.checkout) {
        (Some(version), _) => println!(
            "✓ QuickScale {version} in {} (quickscale is {})",
            crate::vendor::VENDOR_DIR,
            crate::vendor::VERSION
        ),
        (None, Some(checkout)) => println!("✓ QuickScale crates from {}", checkout.display()),
        (None, None) => println!(
            "• QuickScale crates are neither vendored nor path dependencies here; Cargo finds them"
        ),
    }
    if !healthy {
        return Ok(ExitCode::FAILURE);
    }
    let binary = match build(&project, release) {
        Ok(binary) => {
            println!("✓ the project builds");
            binary
        }
        Err(error) => {
            println!("✗ {error}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let code = run_binary(&project, &binary, &AppCommand::Check(args), &[])?;
    healthy &= code == ExitCode::SUCCESS;
    Ok(if healthy { code } else { ExitCode::FAILURE })
}

/// Prints a tick or a fix for Cargo and its version.
fn check_toolchain() -> bool {
    let output = Command::new(cargo()).arg("--version").output();
    let version = match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        _ => {
            println!(
                "✗ cargo is not installed or not on the PATH: install Rust from \
                 https://rustup.rs, then open a new terminal"
            );
            return false;
        }
    };
    let required = env!("CARGO_PKG_RUST_VERSION");
    match (parse_version(&version), parse_version(required)) {
        (Some(found), Some(needed)) if found < needed => {
            println!("✗ {version}: QuickScale needs Rust {required} or newer; run `rustup update`");
            false
        }
        _ => {
            println!("✓ {version} (QuickScale needs {required} or newer)");
            true
        }
    }
}

/// `(major, minor)` from `cargo 1.95.0 (...)` or `1.94`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let word = text
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    let mut parts = word.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_binary_from_cargo_messages() {
        let line = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"shop"},"executable":"/t/debug/shop"}"#;
        assert_eq!(
            executable_of(line, "shop"),
            Some(PathBuf::from("/t/debug/shop"))
        );
        assert_eq!(executable_of(line, "other"), None);
        let lib = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"shop"},"executable":null}"#;
        assert_eq!(executable_of(lib, "shop"), None);
        assert_eq!(executable_of("not json", "shop"), None);
    }

    #[test]
    fn versions_compare() {
        assert_eq!(
            parse_version("cargo 1.95.0 (f2d3ce0bd 2026-03-21)"),
            Some((1, 95))
        );
        assert_eq!(parse_version("1.94"), Some((1, 94)));
        assert!(parse_version("cargo 1.93.1").unwrap() < parse_version("1.94").unwrap());
    }

    #[test]
    fn a_busy_port_is_named_with_a_way_out() {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let error = check_port(IpAddr::from([127, 0, 0, 1]), port)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("port {port} is already in use")),
            "{error}"
        );
        assert!(error.contains("--port"), "{error}");
        drop(listener);
        check_port(IpAddr::from([127, 0, 0, 1]), port).unwrap();
    }
}
