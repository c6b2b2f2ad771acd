//! Static files: embedded in the binary, each overridable by a file at the same path under the
//! project's `static/` folder.
//!
//! Pages link to them through [`StaticFiles::url`] (the `static_url` template function), which
//! puts a hash of the content in the URL: `/static/css/app.css?v=3f2a...`. A URL with the current
//! hash is cached for a year as immutable; editing the file (an override included) changes the
//! hash and so the URL. Any other URL (no hash, or an old one) must be revalidated (`no-cache`,
//! with an ETag), so nobody keeps a stale stylesheet.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "static/"]
struct Embedded;

/// What a versioned URL's answer says: keep it, it never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// What any other static answer says: ask again (a 304 when the ETag still matches).
const REVALIDATE: &str = "no-cache";

/// The static files of a project: the embedded ones, each replaced by a file at the same path
/// under the project's `static/` folder, read from disk at each request (an edit to a file there
/// shows at once, a file added there within a second).
#[derive(Clone, Debug)]
pub struct StaticFiles {
    dir: PathBuf,
    /// Versions by the path of the override file they stand for: an override's with the size
    /// and time of the file it was computed from (a page render looks at the file's metadata,
    /// not its content); an embedded file's with when the override was last found missing.
    versions: Arc<Mutex<HashMap<PathBuf, Stamp>>>,
}

/// How long a missing override is taken as missing: a page links to the embedded file without
/// asking the disk again for that long (a file added to `static/` shows within it; an edit to
/// an existing override shows at once).
const ABSENT_FOR: Duration = Duration::from_secs(1);

#[derive(Debug)]
enum Stamp {
    Override {
        modified: SystemTime,
        len: u64,
        version: String,
    },
    Embedded {
        missing_at: Instant,
        version: Option<String>,
    },
}

/// A file's version: the start of the SHA-256 of its content, in hex.
fn version_of_hash(hash: &[u8]) -> String {
    hex::encode(&hash[..8])
}

fn version_of(bytes: &[u8]) -> String {
    version_of_hash(&Sha256::digest(bytes))
}

impl StaticFiles {
    /// The static files with overrides from `dir` (a project's `static/` folder).
    pub fn new(dir: PathBuf) -> Self {
        StaticFiles {
            dir,
            versions: Arc::default(),
        }
    }

    /// The content of the file at `relative` and its version.
    fn read(&self, relative: &Path) -> Option<(Vec<u8>, String)> {
        if let Some(bytes) = override_file(&self.dir, relative) {
            let version = version_of(&bytes);
            return Some((bytes, version));
        }
        let file = Embedded::get(relative.to_str()?)?;
        let version = version_of_hash(&file.metadata.sha256_hash());
        Some((file.data.into_owned(), version))
    }

    /// The version of the file at `path` (it changes whenever the content does), or `None`
    /// when there is no such file.
    pub fn version(&self, path: &str) -> Option<String> {
        let relative = safe_relative(path)?;
        let full = self.dir.join(&relative);
        let versions = || self.versions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(Stamp::Embedded {
            missing_at,
            version,
        }) = versions().get(&full)
            && missing_at.elapsed() < ABSENT_FOR
        {
            return version.clone();
        }
        if let Ok(meta) = std::fs::metadata(&full)
            && meta.is_file()
        {
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if let Some(Stamp::Override {
                modified: was,
                len,
                version,
            }) = versions().get(&full)
                && *was == modified
                && *len == meta.len()
            {
                return Some(version.clone());
            }
            let version = version_of(&std::fs::read(&full).ok()?);
            versions().insert(
                full,
                Stamp::Override {
                    modified,
                    len: meta.len(),
                    version: version.clone(),
                },
            );
            return Some(version);
        }
        let version = Embedded::get(path).map(|file| version_of_hash(&file.metadata.sha256_hash()));
        versions().insert(
            full,
            Stamp::Embedded {
                missing_at: Instant::now(),
                version: version.clone(),
            },
        );
        version
    }

    /// The URL of the static file at `path` (`css/app.css`), with its version:
    /// `/static/css/app.css?v=...`. A missing file gets its plain URL (and a 404 from it).
    pub fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        match self.version(path) {
            Some(version) => format!("/static/{path}?v={version}"),
            None => format!("/static/{path}"),
        }
    }
}

impl StaticFiles {
    /// The answer to `GET /static/{path}?{query}` (the router's `/static/{*path}` route).
    pub fn response(&self, path: &str, query: Option<&str>, headers: &HeaderMap) -> Response {
        let Some(relative) = safe_relative(path) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let Some((bytes, version)) = self.read(&relative) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let etag = format!("\"{version}\"");
        let requested = query
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "v"))
            .map(|(_, v)| v);
        let cache = if requested.as_deref() == Some(version.as_str()) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let cache_headers = [
            (header::ETAG, HeaderValue::from_str(&etag).ok()),
            (header::CACHE_CONTROL, Some(HeaderValue::from_static(cache))),
        ];
        let mut response = if matches_etag(headers, &etag) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mime = mime_guess::from_path(&relative).first_or_octet_stream();
            let mut response = Response::new(Body::from(bytes));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(mime.as_ref())
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            );
            response
        };
        for (name, value) in cache_headers {
            if let Some(value) = value {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// Whether `If-None-Match` names `etag` (or `*`); weak validators match too.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// Refuses `..`, absolute paths and other escapes from the static folder.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let candidate = Path::new(path);
    candidate
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| candidate.to_path_buf())
}

fn override_file(dir: &Path, relative: &Path) -> Option<Vec<u8>> {
    let path = dir.join(relative);
    path.is_file().then(|| std::fs::read(path).ok()).flatten()
}

/// True when an embedded asset exists (used by tests and the crawler's expectations).
pub fn embedded(path: &str) -> bool {
    Embedded::get(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_that_escape() {
        assert!(safe_relative("css/app.css").is_some());
        assert!(safe_relative("../Cargo.toml").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("css/../../x").is_none());
    }

    #[test]
    fn vendored_libraries_are_embedded() {
        for path in [
            "vendor/bulma/bulma.min.css",
            "vendor/htmx/htmx.min.js",
            "vendor/alpinejs/alpine-csp.min.js",
        ] {
            assert!(embedded(path), "{path}");
        }
    }
}
