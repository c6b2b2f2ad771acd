//! Static files are linked with a version in the URL: a browser keeps a versioned URL for good
//! and revalidates any other, so a changed stylesheet (a project's override too) shows at once.

mod support;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use support::TestApp;
use tower::ServiceExt;

/// Every `/static/` URL a page links to, in order.
fn static_urls(page: &str) -> Vec<String> {
    page.split(['"', '\''])
        .filter(|part| part.starts_with("/static/"))
        .map(str::to_owned)
        .collect()
}

struct Answer {
    status: StatusCode,
    cache_control: String,
    etag: String,
    body: String,
}

async fn fetch(app: &TestApp, url: &str, if_none_match: Option<&str>) -> Answer {
    let mut request = Request::get(url).header(header::HOST, "localhost");
    if let Some(tag) = if_none_match {
        request = request.header(header::IF_NONE_MATCH, tag);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (status, cache_control, etag) = (
        response.status(),
        header(header::CACHE_CONTROL),
        header(header::ETAG),
    );
    let body = to_bytes(response.into_body(), 10 << 20).await.unwrap();
    Answer {
        status,
        cache_control,
        etag,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

async fn stylesheet_url(app: &TestApp) -> String {
    let page = app.browser().get("/about").await;
    static_urls(&page.body)
        .into_iter()
        .find(|url| url.starts_with("/static/css/app.css"))
        .unwrap_or_else(|| panic!("no app.css in {}", page.body))
}

#[tokio::test]
async fn changing_an_override_changes_its_url() {
    let app = TestApp::with_files(
        quickscale_app_web::App::new("Test App"),
        &[("static/css/app.css", "body { color: rebeccapurple; }")],
        &[],
    )
    .await;
    let first = stylesheet_url(&app).await;
    assert!(first.starts_with("/static/css/app.css?v="), "{first}");
    let answer = fetch(&app, &first, None).await;
    assert_eq!(answer.body, "body { color: rebeccapurple; }");
    assert_eq!(answer.cache_control, IMMUTABLE);

    std::fs::write(
        app.dir.path().join("static/css/app.css"),
        "body { color: teal; }",
    )
    .unwrap();
    let second = stylesheet_url(&app).await;
    assert_ne!(first, second, "the URL follows the content");
    let answer = fetch(&app, &second, None).await;
    assert_eq!(answer.body, "body { color: teal; }");
    assert_eq!(answer.cache_control, IMMUTABLE);
    // The old URL, still in someone's page, gets the new file and must not be kept.
    let stale = fetch(&app, &first, None).await;
    assert_eq!(stale.body, "body { color: teal; }");
    assert_eq!(stale.cache_control, "no-cache");
    // Same content again: same URL as before (no needless downloads).
    std::fs::write(
        app.dir.path().join("static/css/app.css"),
        "body { color: rebeccapurple; }",
    )
    .unwrap();
    assert_eq!(stylesheet_url(&app).await, first);
}

#[tokio::test]
async fn a_file_added_to_static_is_linked_within_a_second() {
    let app = TestApp::new().await;
    let embedded = stylesheet_url(&app).await;
    std::fs::create_dir_all(app.dir.path().join("static/css")).unwrap();
    std::fs::write(
        app.dir.path().join("static/css/app.css"),
        "body { color: olive; }",
    )
    .unwrap();
    // Pages trust a missing override for a second (no disk look per page and file).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let added = stylesheet_url(&app).await;
    assert_ne!(embedded, added, "the new file's URL");
    let answer = fetch(&app, &added, None).await;
    assert_eq!(answer.body, "body { color: olive; }");
    assert_eq!(answer.cache_control, IMMUTABLE);
}

#[tokio::test]
async fn every_linked_asset_is_versioned_and_plain_urls_are_revalidated() {
    let app = TestApp::new().await;
    let page = app.browser().get("/").await;
    let urls = static_urls(&page.body);
    assert!(urls.len() >= 5, "{urls:?}");
    for url in &urls {
        assert!(url.contains("?v="), "{url} has no version");
        let answer = fetch(&app, url, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{url}");
        assert_eq!(answer.cache_control, IMMUTABLE, "{url}");
        // Without the version: the same file, revalidated each time (a 304 when unchanged).
        let plain = url.split('?').next().unwrap();
        let answer = fetch(&app, plain, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{plain}");
        assert_eq!(answer.cache_control, "no-cache", "{plain}");
        assert!(!answer.etag.is_empty(), "{plain}");
        let again = fetch(&app, plain, Some(&answer.etag)).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{plain}");
        assert!(again.body.is_empty());
    }
    assert_eq!(
        fetch(&app, "/static/css/nothing.css?v=1", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
