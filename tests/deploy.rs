//! The generated project's deploy/ files, checked by the tools that read them on a server:
//! `nginx -t` on deploy/nginx.conf (with a throwaway certificate in place of the real one) and
//! `systemd-analyze verify` on deploy/app.service (with the project's layout under a temporary
//! folder in place of /srv/NAME). docs/deploy.md says which of its commands these tests run.
//! They skip without nginx or systemd-analyze unless `QS_REQUIRE_DEPLOY_TOOLS=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use quickscale_adapters::testing::require::{Requirement, skip};

use crate::support::{init, text};

fn tool(names: &[&str]) -> Option<PathBuf> {
    names.iter().map(PathBuf::from).find(|path| path.is_file())
}

fn nginx() -> Option<PathBuf> {
    tool(&["/usr/sbin/nginx", "/usr/bin/nginx"])
}

fn systemd_analyze() -> Option<PathBuf> {
    tool(&["/usr/bin/systemd-analyze", "/bin/systemd-analyze"])
}

/// A self-signed certificate and key for `app.example.com` in `dir`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=app.example.com", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{}", text(&made.stderr));
    (cert, key)
}

#[test]
fn the_nginx_site_passes_nginx_t() {
    let Some(nginx) = nginx() else {
        return skip(
            Requirement::DeployTools,
            "nginx is missing (Debian's nginx-light)",
        );
    };
    let project = init("deploy-nginx");
    let site = std::fs::read_to_string(project.join("deploy/nginx.conf")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let site = site
        .replace(
            "/etc/letsencrypt/live/app.example.com/fullchain.pem",
            cert.to_str().unwrap(),
        )
        .replace(
            "/etc/letsencrypt/live/app.example.com/privkey.pem",
            key.to_str().unwrap(),
        );
    assert!(
        !site.contains("letsencrypt"),
        "every certificate path replaced"
    );
    std::fs::write(dir.path().join("site.conf"), &site).unwrap();
    // What Debian's /etc/nginx/nginx.conf does around sites-enabled/, with its own files.
    let main = format!(
        "pid {dir}/nginx.pid;\nerror_log {dir}/error.log;\nevents {{}}\nhttp {{\n  \
         access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  \
         include {dir}/site.conf;\n}}\n",
        dir = dir.path().display()
    );
    std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
    let checked = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(dir.path().join("nginx.conf"))
        .output()
        .unwrap();
    let said = text(&checked.stderr);
    assert!(checked.status.success(), "nginx -t:\n{said}");
    assert!(said.contains("test is successful"), "{said}");
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let Some(analyze) = systemd_analyze() else {
        return skip(
            Requirement::DeployTools,
            "systemd-analyze is missing (Debian's systemd)",
        );
    };
    let project = init("deploy-unit");
    let unit = std::fs::read_to_string(project.join("deploy/app.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/srv/deploy-unit/deploy-unit serve"),
        "{unit}"
    );
    assert!(unit.contains("APP_ENV=production"), "{unit}");
    // The server's layout under a temporary folder: the binary (any executable stands in for
    // it: verify checks that it exists and is executable) and the environment file.
    let root = tempfile::tempdir().unwrap();
    let srv = root.path().join("srv/deploy-unit");
    std::fs::create_dir_all(srv.join("data")).unwrap();
    std::fs::copy("/bin/true", srv.join("deploy-unit")).unwrap();
    let etc = root.path().join("etc/deploy-unit");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::copy(project.join("deploy/production.env"), etc.join("env")).unwrap();
    let unit = unit
        .replace("/srv/", &format!("{}/srv/", root.path().display()))
        .replace("/etc/deploy-unit/", &format!("{}/", etc.display()));
    let path = root.path().join("deploy-unit.service");
    std::fs::write(&path, unit).unwrap();
    let checked = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let said = text(&checked.stdout) + &text(&checked.stderr);
    assert!(checked.status.success(), "systemd-analyze verify:\n{said}");
    // Warnings about the unit itself (not about the machine's other units) fail it too.
    let about_it: Vec<&str> = said
        .lines()
        .filter(|line| line.contains("deploy-unit.service"))
        .collect();
    assert!(about_it.is_empty(), "{said}");
}
