//! The screenshot gallery of `docs/screenshots/`: with `QS_SCREENSHOTS=<folder>` (relative to
//! the workspace, for example `docs/screenshots`), the audit (`audit.rs`) writes every page it
//! checks at desktop (1280 px) and phone (390 px) width into the folder, as the first role that
//! reaches it sees it (a visitor, then a user, then the admin), reduced to at most 128 colours
//! by `pngquant`, and an index, `README.md`, that lists them. Unset (normal test runs), nothing
//! in the repository changes.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::workspace;

/// One page in the gallery: who saw it, at which address, and its file stem.
struct Entry {
    who: &'static str,
    path: String,
    stem: String,
}

pub struct Gallery {
    dir: PathBuf,
    entries: RefCell<Vec<Entry>>,
    written: RefCell<BTreeSet<(String, u32)>>,
}

impl Gallery {
    /// The gallery `QS_SCREENSHOTS` asks for, or none. Its earlier pictures are removed, so a
    /// page that no longer exists leaves none behind; the hand-picked ones of the other browser
    /// scenarios (named without `-desktop` or `-phone`) stay.
    pub fn from_env() -> Option<Gallery> {
        let dir = std::env::var_os("QS_SCREENSHOTS").filter(|d| !d.is_empty())?;
        let dir = workspace().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with("-desktop.png") || name.ends_with("-phone.png") {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        let quantizer = Command::new("pngquant").arg("--version").output();
        assert!(
            quantizer.is_ok_and(|o| o.status.success()),
            "QS_SCREENSHOTS needs pngquant (the Debian package) to keep the gallery small"
        );
        Some(Gallery {
            dir,
            entries: RefCell::new(Vec::new()),
            written: RefCell::new(BTreeSet::new()),
        })
    }

    /// Adds the screenshot `shot` of the page `name` (at `path`) at `width`, unless an earlier
    /// role's picture of it is there already, or of the same page without its query string
    /// (`/login?next=...` is the sign-in page again).
    pub fn add(&self, who: &'static str, name: &str, path: &str, width: u32, shot: &Path) {
        let stem = stable(name);
        if let Some((page, _)) = path.split_once('?') {
            let plain = stable(page.trim_start_matches('/').replace('/', "_").as_str());
            let plain = if plain.is_empty() {
                "home".to_owned()
            } else {
                plain
            };
            if self.written.borrow().contains(&(plain, width)) {
                return;
            }
        }
        if !self.written.borrow_mut().insert((stem.clone(), width)) {
            return;
        }
        let file = self.dir.join(format!("{stem}-{}.png", label(width)));
        let quantized = Command::new("pngquant")
            .args([
                "128",
                "--quality=50-90",
                "--speed",
                "1",
                "--strip",
                "--force",
                "--output",
            ])
            .arg(&file)
            .arg("--")
            .arg(shot)
            .status()
            .expect("pngquant runs");
        if !quantized.success() {
            // Quality out of reach: the picture as Chromium took it.
            std::fs::copy(shot, &file).unwrap();
        }
        if width == 1280 {
            self.entries.borrow_mut().push(Entry {
                who,
                path: stable_path(path),
                stem,
            });
        }
    }

    /// Writes `README.md`: every page by role, its desktop and phone pictures, and the total size.
    pub fn write_index(&self) {
        let mut by_role: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
        let entries = self.entries.borrow();
        for entry in entries.iter() {
            by_role.entry(entry.who).or_default().push(entry);
        }
        let mut bytes = 0;
        let mut files = 0;
        for entry in std::fs::read_dir(&self.dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "png") {
                bytes += entry.metadata().unwrap().len();
                files += 1;
            }
        }
        let mut text = String::from(
            "# Screenshots\n\n\
             Every page of the app, as the browser audit (`tests/browser/audit.rs`) checks it: \
             laid out at desktop width (1280 px) and on a phone (390 px), with billing, \
             subscriptions and the API on, the longest app name the generator accepts and \
             60-character emails (the hardest case for the navbar). Each page appears once, as \
             the first of a visitor, a user and the admin who reaches it. Regenerate with\n\n\
             \x20   QS_SCREENSHOTS=docs/screenshots QS_REQUIRE_BROWSER=1 cargo test -p quickscale-cli --test e2e -- browser::audit\n\n\
             (it needs `pngquant`). The other pictures here (`checkout.png`, `phone-menu.png`, \
             `no-javascript-result.png`, `dashboard-after-grant.png`, `outbox.png`, \
             `plans.png`) come from the other browser scenarios and were picked by hand.\n",
        );
        text.push_str(&format!(
            "\n{files} pictures, {:.1} MB.\n",
            bytes as f64 / 1_000_000.0
        ));
        for role in ["visitor", "user", "admin"] {
            let Some(entries) = by_role.get(role) else {
                continue;
            };
            text.push_str(&format!(
                "\n## As {}\n\n| Page | Desktop | Phone |\n|---|---|---|\n",
                article(role)
            ));
            for entry in entries {
                text.push_str(&format!(
                    "| `{}` | [![{} at 1280 px]({stem}-desktop.png)]({stem}-desktop.png) | [phone]({stem}-phone.png) |\n",
                    entry.path,
                    entry.path,
                    stem = entry.stem
                ));
            }
        }
        std::fs::write(self.dir.join("README.md"), text).unwrap();
    }
}

fn article(role: &str) -> String {
    match role {
        "admin" => "the admin".to_owned(),
        other => format!("a {other}"),
    }
}

fn label(width: u32) -> &'static str {
    if width >= 1024 { "desktop" } else { "phone" }
}

/// A page's name with its ids (UUIDs, long hex or numbers) replaced by `id`, so the same page
/// keeps its file name from run to run.
fn stable(name: &str) -> String {
    name.split('_')
        .map(|part| if looks_like_id(part) { "id" } else { part })
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn stable_path(path: &str) -> String {
    path.split(['/', '=', '&'])
        .filter(|part| looks_like_id(part))
        .fold(path.to_owned(), |path, id| path.replace(id, "{id}"))
}

fn looks_like_id(part: &str) -> bool {
    part.len() >= 8
        && part.bytes().any(|b| b.is_ascii_digit())
        && part.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

#[test]
fn ids_do_not_reach_file_names() {
    assert_eq!(
        stable("admin_users_0190b9a3-7c1e-7d2b-9f00-1234567890ab"),
        "admin_users_id"
    );
    assert_eq!(stable("billing_payments"), "billing_payments");
    assert_eq!(
        stable_path("/admin/payments/0190b9a3-7c1e-7d2b-9f00-1234567890ab"),
        "/admin/payments/{id}"
    );
    assert_eq!(stable_path("/services/title_case"), "/services/title_case");
}
