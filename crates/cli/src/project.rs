//! Finding the project `quickscale up` and friends act on, and its settings.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

pub const NOT_A_PROJECT: &str =
    "not inside a QuickScale project: run `quickscale init NAME` first, then `cd NAME`";

/// A generated project (or any package built on `quickscale-app-web` with a `.env` or a
/// `quickscale.toml`).
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub package: String,
    /// The binary to run.
    pub bin: String,
    /// The QuickScale checkout its path dependencies point to, when they point outside the
    /// project (projects generated before the crates were vendored).
    pub checkout: Option<PathBuf>,
    /// The QuickScale version of the crates in `vendor/quickscale/`, when the project has them.
    pub vendored: Option<String>,
}

impl Project {
    /// The nearest project in `start` or one of its parents.
    pub fn find(start: &Path) -> anyhow::Result<Project> {
        let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
        for dir in start.ancestors() {
            let manifest = dir.join("Cargo.toml");
            let configured = dir.join(".env").is_file() || dir.join("quickscale.toml").is_file();
            if manifest.is_file()
                && configured
                && let Some(project) = Self::read(dir, &manifest)?
            {
                return Ok(project);
            }
        }
        bail!(NOT_A_PROJECT)
    }

    /// The project in `dir`, or `None` when its package does not use `quickscale-app-web`.
    fn read(dir: &Path, manifest: &Path) -> anyhow::Result<Option<Project>> {
        let text = std::fs::read_to_string(manifest)
            .with_context(|| format!("cannot read {}", manifest.display()))?;
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid", manifest.display()))?;
        let Some(package) = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
        else {
            return Ok(None);
        };
        let Some(app_web) = table
            .get("dependencies")
            .and_then(|d| d.get("quickscale-app-web"))
        else {
            return Ok(None);
        };
        let bin = table
            .get("bin")
            .and_then(toml::Value::as_array)
            .and_then(|bins| bins.first())
            .and_then(|b| b.get("name"))
            .and_then(toml::Value::as_str)
            .unwrap_or(package)
            .to_owned();
        // `path = ".../crates/app-web"` outside the project: the checkout is two folders up.
        let own_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let checkout = app_web
            .get("path")
            .and_then(toml::Value::as_str)
            .and_then(|p| std::fs::canonicalize(dir.join(p)).ok())
            .filter(|p| !p.starts_with(&own_dir))
            .and_then(|p| p.parent()?.parent().map(Path::to_path_buf))
            .filter(|root| root.join("Cargo.toml").is_file());
        Ok(Some(Project {
            dir: dir.to_path_buf(),
            package: package.to_owned(),
            bin,
            checkout,
            vendored: crate::vendor::project_version(dir)?,
        }))
    }

    /// The target directory to build in, when `quickscale` chooses it: `QUICKSCALE_TARGET_DIR`,
    /// else the `target/` of the checkout the path dependencies point to. `None` when
    /// `CARGO_TARGET_DIR` is set or the crates are vendored: Cargo then decides (the project's
    /// `.cargo/config.toml`, which `init` may point at a checkout's `target/`, else `./target`).
    pub fn target_dir(&self) -> Option<PathBuf> {
        if std::env::var_os("CARGO_TARGET_DIR").is_some_and(|v| !v.is_empty()) {
            return None;
        }
        if let Some(dir) = std::env::var_os("QUICKSCALE_TARGET_DIR").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        self.checkout.as_ref().map(|c| c.join("target"))
    }

    /// Where the app will listen, as it will decide: the flag, else the environment, else
    /// `.env`, else `quickscale.toml`, else the default.
    pub fn address(
        &self,
        host: Option<IpAddr>,
        port: Option<u16>,
    ) -> anyhow::Result<(IpAddr, u16)> {
        let host = match host {
            Some(host) => host,
            None => match self.setting("HOST")? {
                Some(value) => value
                    .parse()
                    .with_context(|| format!("HOST={value} is not an IP address"))?,
                None => IpAddr::from([127, 0, 0, 1]),
            },
        };
        let port = match port {
            Some(port) => port,
            None => match self.setting("PORT")? {
                Some(value) => value
                    .parse()
                    .with_context(|| format!("PORT={value} is not a port number"))?,
                None => 8000,
            },
        };
        Ok((host, port))
    }

    /// A setting the way the app reads it.
    fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        if let Some(value) = std::env::var(key).ok().filter(|v| !v.trim().is_empty()) {
            return Ok(Some(value.trim().to_owned()));
        }
        let env_file = self.dir.join(".env");
        if env_file.is_file() {
            let entries = dotenvy::from_path_iter(&env_file)
                .with_context(|| format!("cannot read {}", env_file.display()))?;
            for entry in entries {
                let (k, v) =
                    entry.with_context(|| format!("{} is not valid", env_file.display()))?;
                if k == key && !v.trim().is_empty() {
                    return Ok(Some(v.trim().to_owned()));
                }
            }
        }
        let toml_file = self.dir.join("quickscale.toml");
        if toml_file.is_file() {
            let text = std::fs::read_to_string(&toml_file)?;
            let table: toml::Table = toml::from_str(&text)
                .with_context(|| format!("{} is not valid", toml_file.display()))?;
            for (k, v) in table {
                if k.eq_ignore_ascii_case(key) {
                    return Ok(match v {
                        toml::Value::String(s) => Some(s),
                        toml::Value::Integer(i) => Some(i.to_string()),
                        _ => None,
                    });
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project in `dir` whose QuickScale crates are at `crates` (relative to it).
    fn project(dir: &Path, crates: &str, env: &str) {
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"shop\"\n[dependencies]\nquickscale-app-web = {{ path = \
                 \"{crates}/crates/app-web\" }}\n"
            ),
        )
        .unwrap();
        std::fs::create_dir_all(dir.join(crates).join("crates/app-web")).unwrap();
        std::fs::write(
            dir.join(crates).join("Cargo.toml"),
            "[workspace.package]\nversion = \"0.4.2\"\n",
        )
        .unwrap();
        std::fs::write(dir.join(".env"), env).unwrap();
    }

    #[test]
    fn finds_the_project_from_a_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir(&app).unwrap();
        project(&app, "../qs", "PORT=9123\n");
        std::fs::create_dir_all(app.join("src/services")).unwrap();
        let found = Project::find(&app.join("src/services")).unwrap();
        assert_eq!(found.package, "shop");
        assert_eq!(found.bin, "shop");
        assert_eq!(
            found.checkout.clone().unwrap(),
            std::fs::canonicalize(dir.path()).unwrap().join("qs")
        );
        assert_eq!(found.vendored, None);
        let (_, port) = found.address(None, None).unwrap();
        assert_eq!(port, 9123);
        assert_eq!(found.address(None, Some(7000)).unwrap().1, 7000);
    }

    #[test]
    fn vendored_crates_are_no_checkout() {
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), "vendor/quickscale", "");
        let found = Project::find(dir.path()).unwrap();
        assert_eq!(found.checkout, None);
        assert_eq!(found.vendored.as_deref(), Some("0.4.2"));
        assert_eq!(
            found
                .target_dir()
                .filter(|_| std::env::var_os("QUICKSCALE_TARGET_DIR").is_none()),
            None
        );
    }

    #[test]
    fn a_folder_without_a_project_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"other\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join(".env"), "").unwrap();
        let error = Project::find(dir.path()).unwrap_err().to_string();
        assert_eq!(error, NOT_A_PROJECT);
    }
}
