//! The template components (`templates/components/`) and their gallery, `/dev/components`:
//! every component in its states, on the developer's machine only, showing a project's
//! overrides.

mod support;

use axum::http::StatusCode;
use quickscale_app_web::App;
use support::TestApp;

#[tokio::test]
async fn the_gallery_shows_every_component_in_development() {
    let app = TestApp::new().await;
    let names = app.state.templates().component_names();
    for expected in [
        "field",
        "select",
        "checkbox",
        "button",
        "post_button",
        "card",
        "table",
        "pagination",
        "notice",
        "flash",
        "badge",
        "modal",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no `{expected}` in {names:?}"
        );
    }
    let page = app.browser().get("/dev/components").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for name in &names {
        assert!(
            page.contains(&format!("data-component=\"{name}\"")),
            "the gallery does not show `{name}`"
        );
    }
    // Their states: a field with its error tied to it, an empty table saying what to do next,
    // a confirmation dialog, every level of notice.
    assert!(page.contains(
        "aria-invalid=\"true\" aria-describedby=\"g_error-error\" id=\"g_error\" name=\"g_error\" type=\"email\""
    ));
    assert!(page.contains("id=\"g_error-error\" role=\"alert\">Enter an email address"));
    assert!(page.contains("aria-describedby=\"g_help-help\" id=\"g_help\""));
    assert!(
        page.contains(
            "You have not run a service yet. <a href=\"#table\">Browse the services</a>."
        )
    );
    assert!(page.contains("<dialog class=\"confirm-dialog box\" id=\"g-modal\""));
    for level in ["info", "success", "warning", "danger"] {
        assert!(
            page.contains(&format!("notification is-{level} is-light")),
            "{level}"
        );
    }
    assert!(page.contains("Page 2 of 7"));
}

#[tokio::test]
async fn the_gallery_does_not_exist_outside_development() {
    for settings in [
        vec![("TRUST_PROXY", "true")],
        vec![("BASE_URL", "https://app.example.com")],
    ] {
        let app = TestApp::with(&settings).await;
        let page = app.browser().get("/dev/components").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{settings:?}");
        assert!(!page.contains("data-component="), "{settings:?}");
    }
}

#[tokio::test]
async fn a_project_overrides_one_component_and_every_page_and_the_gallery_follow() {
    let badge = r#"{% component badge(text, kind="", light=false, class="", testid="") -%}
<mark class="my-badge {{ kind }}">{{ text }}</mark>
{%- endcomponent badge %}"#;
    let app = TestApp::with_files(
        App::new("Test App"),
        &[("templates/components/badge.html", badge)],
        &[],
    )
    .await;
    let gallery = app.browser().get("/dev/components").await;
    assert_eq!(gallery.status, StatusCode::OK, "{}", gallery.body);
    assert!(gallery.contains("<mark class=\"my-badge success\">success</mark>"));
    assert!(!gallery.contains("class=\"tag is-success\""));
    // The other components are still the embedded ones.
    assert!(gallery.contains("data-component=\"notice\""));
    assert!(gallery.contains("notification is-danger is-light"));
    // A page that uses it: the services' costs on the home page.
    let home = app.browser().get("/").await;
    assert!(home.contains("<mark class=\"my-badge"), "{}", home.body);
}
