//! A generated project is self-contained: committed to a git repository of its own and cloned
//! to another folder, it builds and passes its tests with the QuickScale checkout out of reach.
//!
//! The checkout is hidden rather than renamed (other tests use it at the same time): Cargo runs
//! in a mount namespace of its own where empty folders and files cover the checkout's sources
//! (`crates/`, `Cargo.toml`, `Cargo.lock`, `project-template/`). The target folder stays
//! visible, as a shared build cache does on a CI machine: it holds compiled libraries, not
//! sources.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use crate::support::{files, init, measure, scratch, target_dir, text, workspace};

fn git(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        text(&output.stderr)
    );
    output
}

/// `cargo ARGS` in `dir`, in a mount namespace where the QuickScale checkout's sources are
/// covered by empty ones. The script checks that they are gone before it runs Cargo.
fn cargo_without_checkout(dir: &Path, args: &[&str]) -> Output {
    let hidden = scratch().join("hidden");
    let _ = std::fs::remove_dir_all(&hidden);
    std::fs::create_dir_all(hidden.join("empty")).unwrap();
    std::fs::write(hidden.join("empty-file"), "").unwrap();
    let checkout = workspace();
    let mut script = String::from("set -eu\n");
    for folder in ["crates", "project-template"] {
        script.push_str(&format!(
            "mount --bind '{}' '{}'\n",
            hidden.join("empty").display(),
            checkout.join(folder).display()
        ));
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        script.push_str(&format!(
            "mount --bind '{}' '{}'\n",
            hidden.join("empty-file").display(),
            checkout.join(file).display()
        ));
    }
    script.push_str(&format!(
        "test ! -e '{0}/crates/app-web' && test ! -s '{0}/Cargo.toml' || \
         {{ echo 'the checkout is still visible'; exit 97; }}\n\
         exec \"$CARGO_BIN\" \"$@\"\n",
        checkout.display()
    ));
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    let mut command = Command::new("unshare");
    if root {
        command.args(["--mount", "--propagation", "private"]);
    } else {
        command.args(["--user", "--map-root-user", "--mount"]);
    }
    command.args(["sh", "-c", &script, "cargo"]).args(args);
    quickscale_cli::cargo_env::without_cargo_context(&mut command);
    let started = Instant::now();
    let output = command
        .current_dir(dir)
        .env(
            "CARGO_BIN",
            std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()),
        )
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("unshare (util-linux) runs");
    measure(format!(
        "cargo {} in a clone, the checkout hidden: {:.1} s",
        args.join(" "),
        started.elapsed().as_secs_f64()
    ));
    assert!(
        output.status.success(),
        "cargo {args:?} in the clone failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

#[test]
fn a_clone_builds_and_passes_its_tests_without_the_checkout() {
    let project = init("clone-app");
    assert!(project.join("vendor/quickscale/Cargo.toml").is_file());
    git(&project, &["init", "-q", "-b", "main"]);
    git(&project, &["add", "-A"]);
    git(
        &project,
        &["commit", "-q", "-m", "A new QuickScale project"],
    );
    let committed = text(&git(&project, &["ls-files"]).stdout);
    assert!(
        committed
            .lines()
            .any(|f| f == "vendor/quickscale/crates/app-web/Cargo.toml"),
        "the vendored crates are committed"
    );
    for local in [".env", ".cargo/config.toml"] {
        assert!(project.join(local).is_file(), "{local} is written");
        assert!(
            !committed.lines().any(|f| f == local),
            "{local} is this machine's, not committed"
        );
    }

    let clone = scratch().join("elsewhere/clone-app");
    let _ = std::fs::remove_dir_all(clone.parent().unwrap());
    std::fs::create_dir_all(clone.parent().unwrap()).unwrap();
    git(
        clone.parent().unwrap(),
        &[
            "clone",
            "-q",
            &project.display().to_string(),
            &clone.display().to_string(),
        ],
    );
    assert!(!files(&clone).iter().any(|f| f == ".cargo/config.toml"));

    cargo_without_checkout(&clone, &["build"]);
    let tests = cargo_without_checkout(&clone, &["test"]);
    let report = text(&tests.stdout);
    for test in [
        "runs_as_a_service_next_to_the_built_ins ... ok",
        "serves_the_home_page_and_the_health_check ... ok",
    ] {
        assert!(report.contains(test), "{test} in:\n{report}");
    }
    assert!(
        target_dir().join("debug/clone-app").is_file(),
        "the clone's binary was built"
    );
    let _ = std::fs::remove_dir_all(clone.parent().unwrap());
}
