//! `quickscale crawl` against a freshly generated project (as a visitor, a user and an admin:
//! no page may have a problem) and against a deliberately broken site (every kind of problem is
//! reported and the exit code says so).

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use crate::support::{
    ADMIN_EMAIL, ADMIN_PASSWORD, App, HttpBrowser, PASSWORD, measure, project, quickscale, text,
};

/// `quickscale crawl ARGS` with `env`, off the async runtime.
async fn crawl(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = quickscale(&std::env::temp_dir());
        command.arg("crawl").args(&args);
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("quickscale runs")
    })
    .await
    .unwrap()
}

pub(crate) struct Crawled {
    pub(crate) output: Output,
    pub(crate) report: serde_json::Value,
}

impl Crawled {
    fn said(&self) -> String {
        format!(
            "{}\n{}",
            text(&self.output.stdout),
            text(&self.output.stderr)
        )
    }

    fn urls(&self) -> Vec<String> {
        self.report["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["url"].as_str().unwrap().to_owned())
            .collect()
    }

    fn visited(&self, path: &str) -> bool {
        self.urls().iter().any(|u| {
            u.split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
                .is_some_and(|p| p == path || p.starts_with(&format!("{path}?")))
        })
    }
}

pub(crate) async fn crawl_as(app: &App, who: &str, extra: &[&str], dir: &Path) -> Crawled {
    let json = dir.join(format!("crawl-{who}.json"));
    let mut args = vec![
        "--url".to_owned(),
        app.url("/"),
        "--json".to_owned(),
        json.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let started = Instant::now();
    let output = crawl(
        args,
        vec![
            ("QS_USER_PASSWORD", PASSWORD.to_owned()),
            ("QS_ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
        ],
    )
    .await;
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&json)
            .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(&output.stderr))),
    )
    .unwrap();
    let crawled = Crawled { output, report };
    measure(format!(
        "crawl as {who}: {} pages, {} assets in {:.1} s",
        crawled.urls().len(),
        crawled.report["assets"].as_array().unwrap().len(),
        started.elapsed().as_secs_f64()
    ));
    crawled
}

#[tokio::test]
async fn a_fresh_project_crawls_clean_as_visitor_user_and_admin() {
    let project = project("crawl-app");
    let app = App::start(project, &[("ENABLE_STRIPE", "true")]).await;

    // Some life in the app: a user who ran services and got credits from the admin.
    let email = "grace@example.com";
    let mut grace = HttpBrowser::new(app.port);
    grace.register(email, "Grace").await;
    let result = grace
        .run_service("text_sentiment_analysis", "I love this product")
        .await;
    assert!(result.has("99</span> credits remaining"), "{}", result.body);
    grace.run_service("title_case", "the hobbit").await;
    let mut admin = HttpBrowser::new(app.port);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let users = admin.get(&format!("/admin/users?q={email}")).await;
    let link = "href=\"/admin/users/";
    let at = users.body.find(link).expect("a link to the user") + link.len();
    let id = users.body[at..at + users.body[at..].find('"').unwrap()].to_owned();
    let detail = admin.get(&format!("/admin/users/{id}")).await;
    let key = detail.input("key");
    let adjusted = admin
        .post(
            &format!("/admin/users/{id}/credits"),
            &[
                ("action", "add"),
                ("amount", "5"),
                ("reason", "Welcome gift"),
                ("key", &key),
            ],
        )
        .await;
    assert_eq!(adjusted.status, 303, "{}", adjusted.body);

    let dir = tempfile::tempdir().unwrap();
    let visitor = crawl_as(&app, "visitor", &[], dir.path()).await;
    assert!(
        visitor.output.status.success(),
        "the visitor crawl found problems:\n{}",
        visitor.said()
    );
    assert_eq!(visitor.report["failures"], 0, "{}", visitor.said());
    assert!(visitor.urls().len() >= 10, "{}", visitor.said());
    for path in [
        "/",
        "/about",
        "/contact",
        "/register",
        "/login",
        "/services",
        "/health",
    ] {
        assert!(
            visitor.visited(path),
            "{path} not visited:\n{}",
            visitor.said()
        );
    }
    assert!(!visitor.visited("/dashboard"), "{}", visitor.said());
    let said = visitor.said();
    assert!(said.contains("URL") && said.contains("STATUS"), "{said}");
    assert!(said.contains("✓ no problems found"), "{said}");

    let user = crawl_as(
        &app,
        "user",
        &["--login", email, "--password-env", "QS_USER_PASSWORD"],
        dir.path(),
    )
    .await;
    assert!(
        user.output.status.success(),
        "the user crawl found problems:\n{}",
        user.said()
    );
    assert!(user.urls().len() >= 15, "{}", user.said());
    for path in [
        "/dashboard",
        "/settings",
        "/settings/sessions",
        "/usage",
        "/billing",
        "/billing/payments",
        "/services/text_sentiment_analysis",
    ] {
        assert!(user.visited(path), "{path} not visited:\n{}", user.said());
    }
    assert!(!user.visited("/admin"), "{}", user.said());
    assert!(!user.visited("/logout"), "never signs out");
    assert_eq!(user.report["as"], format!("user {email}"));

    let admin = crawl_as(
        &app,
        "admin",
        &[
            "--login",
            ADMIN_EMAIL,
            "--password-env",
            "QS_ADMIN_PASSWORD",
            "--admin",
        ],
        dir.path(),
    )
    .await;
    assert!(
        admin.output.status.success(),
        "the admin crawl found problems:\n{}",
        admin.said()
    );
    assert!(admin.urls().len() > 25, "{}", admin.said());
    for path in [
        "/admin",
        "/admin/users",
        &format!("/admin/users/{id}"),
        "/admin/audit",
        "/admin/emails",
        "/admin/services",
        "/admin/packs",
        "/admin/payments",
        "/admin/webhooks",
    ] {
        assert!(admin.visited(path), "{path} not visited:\n{}", admin.said());
    }
    // Every page of the base layout loaded Bulma, htmx and Alpine, all served as what they are.
    let assets = admin.report["assets"].as_array().unwrap();
    for library in ["bulma", "htmx", "alpine"] {
        let asset = assets
            .iter()
            .find(|a| a["url"].as_str().unwrap().contains(library))
            .unwrap_or_else(|| panic!("{library} among the assets: {assets:?}"));
        assert_eq!(asset["status"], 200, "{asset}");
    }

    // A wrong password stops the crawl before it starts.
    let output = crawl(
        vec![
            "--url".into(),
            app.url("/"),
            "--login".into(),
            email.into(),
            "--password-env".into(),
            "QS_WRONG".into(),
        ],
        vec![("QS_WRONG", "not the password".to_owned())],
    )
    .await;
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("signing in as grace@example.com failed"),
        "{stderr}"
    );

    // A user is not an admin.
    let output = crawl(
        vec![
            "--url".into(),
            app.url("/"),
            "--login".into(),
            email.into(),
            "--password-env".into(),
            "QS_USER_PASSWORD".into(),
            "--admin".into(),
        ],
        vec![("QS_USER_PASSWORD", PASSWORD.to_owned())],
    )
    .await;
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("is grace@example.com an admin?"),
        "{stderr}"
    );
}

/// A small site with one of each problem the crawler looks for.
fn broken_site() -> axum::Router {
    use axum::http::header::CONTENT_TYPE;
    use axum::response::{Html, IntoResponse, Redirect};
    use axum::routing::get;

    const HEAD: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">";
    let layout = |title: &str, body: &str| {
        format!(
            "{HEAD}<title>{title}</title>\
             <link rel=\"stylesheet\" href=\"/static/bulma.min.css\">\
             <script src=\"/static/htmx.min.js\" defer></script>\
             <script src=\"/static/alpine.min.js\" defer></script></head>\
             <body hx-headers='{{\"X-CSRF-Token\": \"t\"}}'>\
             <nav class=\"navbar\" x-data=\"navbar\"><a href=\"/\">Home</a></nav>{body}</body></html>"
        )
    };
    let home = layout(
        "Home",
        "<a href=\"/good\">Good</a> <a href=\"/leak\">Leak</a> <a href=\"/styles\">Styles</a> \
         <a href=\"/unclosed\">Unclosed</a> <a href=\"/gone\">Gone</a> <a href=\"/boom\">Boom</a> \
         <a href=\"/untitled\">Untitled</a> <a href=\"/moved\">Moved</a> \
         <a href=\"/no-alpine\">No Alpine</a> \
         <a href=\"https://example.com/elsewhere\">Elsewhere</a> \
         <form method=\"post\" action=\"/logout\"><button>Sign out</button></form>",
    );
    let good = layout("Good", "<p>Fine.</p>");
    let leak = layout("Leak", "<p>Hello {{ x }}</p><p>Balance: undefined</p>");
    let styles = format!(
        "{HEAD}<title>Styles</title><link rel=\"stylesheet\" href=\"/static/missing.css\">\
         <script src=\"/static/app.js\"></script><img src=\"/static/logo.png\" alt=\"\">\
         </head><body><p>Styled?</p></body></html>"
    );
    let unclosed = layout("Unclosed", "<div><section><p>Text</div>");
    let untitled = format!("{HEAD}<title> </title></head><body><p>x</p></body></html>");
    let no_alpine = format!(
        "{HEAD}<title>No Alpine</title><link rel=\"stylesheet\" href=\"/static/bulma.min.css\">\
         </head><body><div class=\"box\" x-data=\"thing\">x</div></body></html>"
    );
    axum::Router::new()
        .route("/", get(move || async move { Html(home) }))
        .route("/good", get(move || async move { Html(good) }))
        .route("/leak", get(move || async move { Html(leak) }))
        .route("/styles", get(move || async move { Html(styles) }))
        .route("/unclosed", get(move || async move { Html(unclosed) }))
        .route("/untitled", get(move || async move { Html(untitled) }))
        .route("/no-alpine", get(move || async move { Html(no_alpine) }))
        .route("/moved", get(|| async { Redirect::to("/good") }))
        .route(
            "/boom",
            get(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route("/logout", get(|| async { Html("Signed out.") }))
        .route("/health", get(|| async { "ok" }))
        .route(
            "/static/bulma.min.css",
            get(|| async { ([(CONTENT_TYPE, "text/css")], "/*! bulma.io */ .navbar{}") }),
        )
        .route(
            "/static/htmx.min.js",
            get(|| async { ([(CONTENT_TYPE, "text/javascript")], "var htmx = {};") }),
        )
        .route(
            "/static/alpine.min.js",
            get(|| async { ([(CONTENT_TYPE, "text/javascript")], "window.Alpine = {};") }),
        )
        // JavaScript served as HTML, an image served as text.
        .route(
            "/static/app.js",
            get(|| async { Html("<html>not a script</html>") }),
        )
        .route(
            "/static/logo.png",
            get(|| async { "not an image".into_response() }),
        )
}

#[tokio::test]
async fn reports_every_kind_of_problem_and_fails() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, broken_site()).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let output = crawl(
        vec![
            "--url".into(),
            format!("http://127.0.0.1:{port}"),
            "--json".into(),
            json.display().to_string(),
        ],
        vec![],
    )
    .await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["ok"], false);
    let problems_of = |path: &str| -> Vec<String> {
        report["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["url"].as_str().unwrap().ends_with(path))
            .unwrap_or_else(|| panic!("{path} was not crawled:\n{stdout}"))["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect()
    };
    let has = |path: &str, needle: &str| {
        let problems = problems_of(path);
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{path}: expected a problem with {needle:?}, got {problems:?}\n{stdout}"
        );
    };
    assert!(problems_of("/good").is_empty(), "{stdout}");
    assert!(problems_of("/moved").is_empty(), "a redirect is fine");
    assert!(problems_of(":{port}/".replace("{port}", &port.to_string()).as_str()).is_empty());
    has("/leak", "template syntax `{{`");
    has("/leak", "\"undefined\"");
    has("/styles", "stylesheet /static/missing.css: HTTP 404");
    has("/styles", "script /static/app.js: served as text/html");
    has("/styles", "image /static/logo.png: served as text/plain");
    has("/unclosed", "<section> is not closed before </div>");
    has("/untitled", "the <title> is empty");
    has("/no-alpine", "loads no Alpine script");
    has("/gone", "HTTP 404");
    has("/boom", "HTTP 500");
    let urls: Vec<&str> = report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["url"].as_str().unwrap())
        .collect();
    assert!(!urls.iter().any(|u| u.contains("logout")), "{urls:?}");
    assert!(!urls.iter().any(|u| u.contains("example.com")), "{urls:?}");
    assert_eq!(
        report["skipped"]["other_origins"][0],
        "https://example.com/elsewhere"
    );
    // The table names the failures, and the totals say so.
    assert!(stdout.contains("/static/missing.css"), "{stdout}");
    assert!(stdout.contains("✗ 7 of "), "{stdout}");

    // --max-pages bounds the walk.
    let output = crawl(
        vec![
            "--url".into(),
            format!("http://127.0.0.1:{port}/good"),
            "--max-pages".into(),
            "2".into(),
        ],
        vec![],
    )
    .await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("Stopped at --max-pages 2"), "{stdout}");
}
