//! `quickscale init` and the refusals that need no build: names, occupied and unwritable
//! folders, the help, and commands run outside a project.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use crate::support::{files, text, workspace};

fn quickscale(dir: &Path, args: &[&str]) -> Output {
    quickscale_command(dir, args)
        .output()
        .expect("quickscale runs")
}

/// As from a plain shell: no CARGO_TARGET_DIR either.
fn quickscale_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = crate::support::quickscale(dir);
    command.args(args).env_remove("CARGO_TARGET_DIR");
    command
}

/// `command` as a user without privileges: as is, or, when we are root, as `nobody` through
/// setpriv (util-linux), since root may write where permissions say no.
#[cfg(unix)]
fn unprivileged(command: Command) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    if !root {
        return command;
    }
    let mut dropped = Command::new("setpriv");
    dropped
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
        .arg(command.get_program())
        .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        dropped.current_dir(dir);
    }
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => dropped.env(name, value),
            None => dropped.env_remove(name),
        };
    }
    dropped
}

fn secret_key(project: &Path) -> String {
    let env = std::fs::read_to_string(project.join(".env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("SECRET_KEY="))
        .expect("a SECRET_KEY line")
        .to_owned()
}

#[test]
fn bad_names_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let too_long = "a".repeat(51);
    let cases: &[(&str, &str)] = &[
        ("my-app!", "the character '!'"),
        ("my/app", "the character '/'"),
        ("../escape", "the character '.'"),
        ("my app", "a space"),
        ("My-App", "capital letter"),
        ("my_app", "underscore"),
        ("test", "reserved"),
        ("core", "reserved"),
        ("std", "reserved"),
        ("quickscale", "reserved"),
        ("src", "reserved"),
        ("target", "reserved"),
        ("match", "reserved"),
        ("9lives", "does not start with a letter"),
        ("x", "shorter than 2"),
        (&too_long, "more than 50"),
    ];
    for (name, reason) in cases {
        let output = quickscale(dir.path(), &["init", name]);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{name} was accepted");
        assert!(
            stderr.contains("is not a valid project name") && stderr.contains(reason),
            "{name}: {stderr}"
        );
        assert!(
            files(dir.path()).is_empty(),
            "{name} wrote {:?}",
            files(dir.path())
        );
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}

#[test]
fn an_occupied_or_unwritable_place_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let occupied = dir.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "mine").unwrap();
    let output = quickscale(dir.path(), &["init", "shop", "--path", "occupied"]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("already exists and is not empty"),
        "{stderr}"
    );
    assert_eq!(files(&occupied), ["notes.txt"]);

    // Under a file: the folder cannot be created.
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let output = quickscale(dir.path(), &["init", "shop", "--path", "a-file/shop"]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot create"), "{stderr}");
    assert!(stderr.contains("Nothing was written"), "{stderr}");

    // The name as a file.
    let output = quickscale(dir.path(), &["init", "a-file"]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("is not a folder"));
    assert_eq!(files(dir.path()), ["a-file", "occupied/notes.txt"]);

    // A read-only folder. Root writes anywhere, so as root (CI) the command runs as `nobody`.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path, mode| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        mode(dir.path(), 0o755);
        mode(&locked, 0o555);
        let output = unprivileged(quickscale_command(&locked, &["init", "shop"]))
            .output()
            .unwrap();
        mode(&locked, 0o755);
        assert!(!output.status.success(), "{}", text(&output.stdout));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("cannot create"), "{stderr}");
        assert!(stderr.contains("Permission denied"), "{stderr}");
        assert!(files(&locked).is_empty());
    }

    // A QuickScale checkout that is not one.
    let output = quickscale(
        dir.path(),
        &["init", "shop", "--quickscale-path", "occupied"],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("is not a QuickScale checkout"),
        "{}",
        text(&output.stderr)
    );
    assert!(!dir.path().join("shop").exists());
}

#[test]
fn init_writes_a_complete_project_with_a_fresh_secret() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = quickscale(dir.path(), &["init", "my-saas-app"]);
    let elapsed = started.elapsed();
    assert!(output.status.success(), "{}", text(&output.stderr));
    println!("quickscale init took {} ms", elapsed.as_millis());
    let stdout = text(&output.stdout);
    assert!(stdout.contains("cd my-saas-app"), "{stdout}");
    assert!(stdout.contains("quickscale up"), "{stdout}");

    let project = dir.path().join("my-saas-app");
    let written = files(&project);
    for expected in [
        "Cargo.toml",
        "Cargo.lock",
        "src/main.rs",
        "src/lib.rs",
        "src/services/mod.rs",
        "src/services/title_case.rs",
        "src/services/paragraph_digest.rs",
        "tests/smoke.rs",
        "templates/README.md",
        "static/README.md",
        ".env",
        ".env.example",
        ".gitignore",
        ".dockerignore",
        "README.md",
        "Dockerfile",
        "docker-compose.yml",
        "AGENTS.md",
        "docs/ai_guidelines/README.md",
        "docs/ai_guidelines/services.md",
        "docs/ai_guidelines/credits.md",
        "docs/ai_guidelines/testing.md",
        "deploy/app.service",
        "deploy/nginx.conf",
        "deploy/production.env",
        "vendor/quickscale/Cargo.toml",
        "vendor/quickscale/CHANGELOG.md",
        "vendor/quickscale/crates/adapters/migrations/sqlite/0001_foundation.sql",
    ] {
        assert!(
            written.contains(&expected.to_owned()),
            "{expected} missing from {written:?}"
        );
    }

    // No placeholder is left anywhere (the vendored crates are QuickScale's sources as they are).
    for file in written.iter().filter(|f| !f.starts_with("vendor/")) {
        let content = std::fs::read_to_string(project.join(file)).unwrap();
        for marker in [
            "{{project_name",
            "{{crate_name",
            "{{dep:",
            "{{secret",
            "{{display",
        ] {
            assert!(!content.contains(marker), "{file} still has {marker}");
        }
    }

    // The name, in each of its forms.
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(project.join("Cargo.toml")).unwrap()).unwrap();
    assert_eq!(manifest["package"]["name"].as_str(), Some("my-saas-app"));
    let main = std::fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert!(main.contains("my_saas_app::app().run()"), "{main}");
    let lib = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
    assert!(lib.contains("App::new(\"My Saas App\")"), "{lib}");
    let services = std::fs::read_to_string(project.join("src/services/mod.rs")).unwrap();
    assert!(
        services.contains(
            "pub fn register(registry: &mut ServiceRegistry) -> Result<(), RegistryError>"
        )
    );
    assert!(services.contains("// quickscale:services"));
    // The AI guidelines name this project, its services and every built-in one, with its price.
    let guidelines =
        std::fs::read_to_string(project.join("docs/ai_guidelines/services.md")).unwrap();
    assert!(
        guidelines.contains("# Services in My Saas App"),
        "{guidelines}"
    );
    assert!(
        guidelines.contains("- `src/services/title_case.rs`"),
        "{guidelines}"
    );
    let mut builtins = quickscale_app_web::ServiceRegistry::new();
    quickscale_app_web::sdk::builtin::register_builtins(&mut builtins).unwrap();
    assert!(builtins.len() >= 4);
    for service in builtins.iter() {
        let line = format!(
            "- `{}`: {} (",
            service.descriptor.slug, service.descriptor.name
        );
        assert!(guidelines.contains(&line), "{line} in:\n{guidelines}");
    }
    assert!(
        guidelines.contains("(free)"),
        "the free demo service: {guidelines}"
    );

    // Dependencies: the workspace's versions and features, our crates by absolute path.
    let workspace_manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap()).unwrap();
    let declared = &workspace_manifest["workspace"]["dependencies"];
    for (section, name) in [
        ("dependencies", "async-trait"),
        ("dependencies", "serde_json"),
        ("dependencies", "tokio"),
        ("dev-dependencies", "axum"),
        ("dev-dependencies", "tower"),
    ] {
        assert_eq!(
            manifest[section][name], declared[name],
            "{name} differs from the workspace"
        );
    }
    // Our crates from the project's own copy, byte for byte the checkout's sources.
    let app_web = manifest["dependencies"]["quickscale-app-web"]["path"]
        .as_str()
        .unwrap();
    assert_eq!(app_web, "vendor/quickscale/crates/app-web");
    assert_eq!(
        std::fs::read(project.join(app_web).join("src/lib.rs")).unwrap(),
        std::fs::read(workspace().join("crates/app-web/src/lib.rs")).unwrap()
    );
    assert_eq!(
        manifest["workspace"]["exclude"].as_array().unwrap()[0].as_str(),
        Some("vendor")
    );
    for file in &written {
        let content = std::fs::read_to_string(project.join(file)).unwrap_or_default();
        assert!(
            !content.contains(&workspace().display().to_string()) || file == ".cargo/config.toml",
            "{file} names the checkout"
        );
    }
    assert_eq!(manifest["profile"], workspace_manifest["profile"]);
    assert_eq!(
        std::fs::read_to_string(project.join("Cargo.lock")).unwrap(),
        std::fs::read_to_string(workspace().join("Cargo.lock")).unwrap()
    );

    // .env.example describes every setting the app reads.
    let example = std::fs::read_to_string(project.join(".env.example")).unwrap();
    for key in quickscale_app_web::config::SETTINGS.iter().map(|s| s.key) {
        let described = example.lines().any(|line| {
            line.trim_start_matches('#')
                .trim_start()
                .starts_with(&format!("{key}="))
        });
        assert!(described, "{key} in .env.example:\n{example}");
    }

    // The template README names every template that can be overridden.
    let readme = std::fs::read_to_string(project.join("templates/README.md")).unwrap();
    let templates_dir = workspace().join("crates/app-web/templates");
    for template in files(&templates_dir) {
        assert!(readme.contains(&format!("`{template}`")), "{template}");
    }

    // A fresh secret every time.
    let first = secret_key(&project);
    assert_eq!(first.len(), 64);
    assert!(first.chars().all(|c| c.is_ascii_hexdigit()));
    let output = quickscale(
        dir.path(),
        &["init", "other-app", "--path", "elsewhere/other"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let second = secret_key(&dir.path().join("elsewhere/other"));
    assert_eq!(second.len(), 64);
    assert_ne!(first, second);
    let env = std::fs::read_to_string(project.join(".env")).unwrap();
    assert!(
        !env.lines().any(|l| l.starts_with("DATABASE_URL=")),
        "SQLite is the default: {env}"
    );

    // An empty folder is fine.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let output = quickscale(dir.path(), &["init", "shop", "--path", "empty"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(dir.path().join("empty/Cargo.toml").is_file());
}

/// `cargo build` and `cargo test NAME` in a project (not only `quickscale up`) build in the
/// checkout's `target/`, where the libraries were compiled once.
#[test]
fn cargo_in_a_project_builds_in_the_checkouts_target() {
    let dir = tempfile::tempdir().unwrap();
    let output = quickscale(dir.path(), &["init", "shared-target"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let project = dir.path().join("shared-target");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    for (name, _) in std::env::vars_os() {
        // As in a terminal: none of the variables `cargo test` set for this test.
        if name.to_string_lossy().starts_with("CARGO") {
            cargo.env_remove(name);
        }
    }
    let metadata = cargo
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(metadata.status.success(), "{}", text(&metadata.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    assert_eq!(
        std::fs::canonicalize(metadata["target_directory"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(workspace().join("target")).unwrap()
    );
}

#[test]
fn init_for_postgres_writes_a_database_url() {
    let dir = tempfile::tempdir().unwrap();
    let output = quickscale(dir.path(), &["init", "pg-shop", "--db", "postgres"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("docker compose up -d db"));
    let env = std::fs::read_to_string(dir.path().join("pg-shop/.env")).unwrap();
    assert!(
        env.lines()
            .any(|l| l == "DATABASE_URL=postgres://postgres:postgres@localhost:5432/pg_shop"),
        "{env}"
    );
    let compose = std::fs::read_to_string(dir.path().join("pg-shop/docker-compose.yml")).unwrap();
    assert!(compose.contains("POSTGRES_DB: pg_shop"));
    assert!(compose.contains("healthcheck"));
}

#[test]
fn the_help_explains_the_journey() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &[][..]] {
        let output = quickscale(dir.path(), args);
        let help = text(&output.stdout) + &text(&output.stderr);
        for step in [
            "quickscale init my-saas-app",
            "cd my-saas-app",
            "quickscale up",
            "http://127.0.0.1:8000",
        ] {
            assert!(help.contains(step), "{step} in {help}");
        }
    }
    assert!(!quickscale(dir.path(), &[]).status.success());
}

#[test]
fn project_commands_outside_a_project_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["up"][..],
        &["migrate"][..],
        &["create-admin", "--email", "a@example.com"][..],
        &["check"][..],
    ] {
        let output = quickscale(dir.path(), args);
        assert!(!output.status.success(), "{args:?}");
        let said = text(&output.stdout) + &text(&output.stderr);
        assert!(
            said.contains("not inside a QuickScale project: run `quickscale init NAME` first"),
            "{args:?}: {said}"
        );
    }
}

#[test]
fn up_refuses_a_busy_port_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let output = quickscale(dir.path(), &["init", "busy-shop"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let started = Instant::now();
    let output = quickscale(&dir.path().join("busy-shop"), &["up", "--port", &port]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
    assert!(stderr.contains("quickscale up --port"), "{stderr}");
    assert!(!stderr.contains("Building"), "it built first: {stderr}");
    assert!(started.elapsed().as_secs() < 10);

    // The port from .env counts too.
    std::fs::write(
        dir.path().join("busy-shop/.env"),
        format!("SECRET_KEY={}\nPORT={port}\n", "k".repeat(40)),
    )
    .unwrap();
    let output = quickscale(&dir.path().join("busy-shop/src"), &["up"]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains(&format!("port {port} is already in use")));
}
