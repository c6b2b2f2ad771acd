//! Static files: embedded in the binary, each overridable by a file at the same path under the
//! project's `static/` folder. Served with an ETag and a cache lifetime.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Embedded;

/// Serves `/static/{*path}`.
pub async fn serve(
    State(state): State<AppState>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let Some(relative) = safe_relative(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = mime_guess::from_path(&relative).first_or_octet_stream();
    let (bytes, etag): (Vec<u8>, String) =
        match override_file(state.config().project_dir.join("static"), &relative) {
            Some(bytes) => {
                let etag = format!("\"o-{:x}-{}\"", bytes.len(), fnv(&bytes));
                (bytes, etag)
            }
            None => match Embedded::get(&path) {
                Some(file) => {
                    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
                    (file.data.into_owned(), etag)
                }
                None => return StatusCode::NOT_FOUND.into_response(),
            },
        };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime.as_ref())
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// Refuses `..`, absolute paths and other escapes from the static folder.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let candidate = Path::new(path);
    candidate
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| candidate.to_path_buf())
}

fn override_file(dir: PathBuf, relative: &Path) -> Option<Vec<u8>> {
    let path = dir.join(relative);
    path.is_file().then(|| std::fs::read(path).ok()).flatten()
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
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
