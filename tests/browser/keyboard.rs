//! A keyboard-only journey in Chromium: register (after one refused try), run a service, read its
//! result, sign out, then open the folded menu on a phone, with nothing but Tab, Shift+Tab,
//! Enter, Space and typed characters, sent as WebDriver key actions to whatever has the focus. At every step the focused element must show
//! that it has the focus (its outline or shadow differs from its unfocused look) and be in view;
//! after a refused form the first field in error has the focus; the result of an HTMX run is in
//! an aria-live region and takes the focus.

use std::time::Instant;

use serde_json::json;

use super::{Stage, console_is_clean};
use crate::support::PASSWORD;
use crate::support::webdriver::{self, Session, keys};

/// How many Tab presses may separate two stops of the journey.
const MAX_TABS: usize = 40;

/// Whether the focused element shows its focus: `null` when it does, otherwise why not. The
/// element is blurred for a moment (transitions off) to compare its look without the focus, then
/// focused again.
const FOCUS_SHOWN: &str = r"
const el = document.activeElement;
if (!el || el === document.body) return 'nothing has the focus';
const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
  + ' ' + JSON.stringify((el.innerText || el.value || '').trim().slice(0, 30));
const look = () => {
  const s = getComputedStyle(el);
  return { outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
             ? `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}` : 'none',
           shadow: s.boxShadow, border: s.borderColor };
};
// No transition while looking: the unfocused look at once, not the first frame of a fade.
const transition = el.style.transition;
el.style.transition = 'none';
const focused = look();
el.blur();
const plain = look();
el.focus();
el.style.transition = transition;
if (document.activeElement !== el) return `${name} does not take the focus back`;
const shows = (focused.outline !== 'none' && focused.outline !== plain.outline)
  || (focused.shadow !== 'none' && focused.shadow !== plain.shadow);
if (!shows) return `the focus on ${name} is invisible: ${JSON.stringify(focused)}`;
const r = el.getBoundingClientRect();
if (r.bottom < 0 || r.top > innerHeight || r.right < 0 || r.left > innerWidth) {
  return `${name} has the focus out of view`;
}
return null;
";

/// Fails unless the focused element shows its focus.
async fn focus_is_visible(s: &Session) {
    let problem = s.execute(FOCUS_SHOWN, json!([])).await;
    if let Some(problem) = problem.as_str() {
        s.fail(problem).await;
    }
}

async fn focused_matches(s: &Session, css: &str) -> bool {
    s.execute(
        "return document.activeElement !== null && document.activeElement.matches(arguments[0]);",
        json!([css]),
    )
    .await
        == true
}

/// Presses Tab (or Shift+Tab, `backwards`) until the element matching `css` has the focus,
/// checking at each stop that the focus shows.
async fn tab_to(s: &Session, css: &str, backwards: bool) {
    for _ in 0..MAX_TABS {
        if focused_matches(s, css).await {
            return;
        }
        s.press(&[keys::TAB], backwards).await;
        focus_is_visible(s).await;
    }
    s.fail(&format!("{css} not reached in {MAX_TABS} presses of Tab"))
        .await;
}

/// Waits for the focus to be on an element matching `css`.
async fn wait_focus(s: &Session, css: &str) {
    let started = Instant::now();
    while !focused_matches(s, css).await {
        if started.elapsed() > webdriver::WAIT {
            let on = s
                .execute(
                    "return document.activeElement && document.activeElement.outerHTML.slice(0, 120);",
                    json!([]),
                )
                .await;
            s.fail(&format!("the focus is not on {css} but on {on}"))
                .await;
        }
        tokio::time::sleep(webdriver::POLL).await;
    }
}

#[tokio::test]
async fn a_keyboard_only_journey() {
    let Some(stage) = Stage::new("keyboard", &[]).await else {
        return;
    };
    let app = &stage.app;
    let mut s = stage.desktop("user").await;
    s.goto(&app.url("/")).await;

    // The navbar's Register link.
    tab_to(&s, "nav a[href='/register']", false).await;
    s.press(&[keys::ENTER], false).await;
    s.wait_path("/register").await;
    s.screenshot("register").await;

    // A first try with a password too short: refused, the password field has the focus.
    tab_to(&s, "#email", false).await;
    s.type_keys("keys@example.com").await;
    tab_to(&s, "#password", false).await;
    s.type_keys("short").await;
    tab_to(&s, "#password_confirmation", false).await;
    s.type_keys("short").await;
    s.press(&[keys::ENTER], false).await;
    s.find("#password[aria-invalid=true]").await;
    wait_focus(&s, "#password").await;
    focus_is_visible(&s).await;
    s.screenshot("refused").await;
    // The refusal is a 422, which the console reports: expected here.
    let refused = s.console().await;
    assert!(
        refused
            .iter()
            .filter(|m| m.starts_with("SEVERE"))
            .all(|m| m.contains("422")),
        "{refused:?}"
    );

    s.type_keys(PASSWORD).await;
    tab_to(&s, "#password_confirmation", false).await;
    s.type_keys(PASSWORD).await;
    tab_to(&s, "form[action='/register'] button[type=submit]", false).await;
    s.press(&[keys::ENTER], false).await;
    s.wait_path("/dashboard").await;
    s.wait_text("[data-testid=balance]", "100 credits available")
        .await;

    // To the sentiment service, through the navbar and the list.
    tab_to(&s, "nav a[href='/services']", false).await;
    s.press(&[keys::ENTER], false).await;
    s.wait_path("/services").await;
    tab_to(&s, "a[href='/services/text_sentiment_analysis']", false).await;
    s.press(&[keys::ENTER], false).await;
    s.wait_path("/services/text_sentiment_analysis").await;
    tab_to(&s, "#input", false).await;
    // The field starts with an example; the typing goes on from it.
    s.type_keys(" And it works wonderfully.").await;
    tab_to(&s, "form[hx-post] button[type=submit]", false).await;
    s.screenshot("service-form").await;
    // Space presses the focused button.
    s.press(&[keys::SPACE], false).await;

    // The result arrives in an aria-live region and takes the focus.
    s.find("[data-testid=result-summary]").await;
    wait_focus(&s, "#result").await;
    focus_is_visible(&s).await;
    let live = s
        .execute(
            "return document.activeElement.closest('[aria-live]')?.getAttribute('aria-live') || null;",
            json!([]),
        )
        .await;
    assert_eq!(live, "polite", "the result is announced");
    let result = s.text("#result").await;
    assert!(result.contains("99 credits remaining"), "{result}");
    s.screenshot("result").await;

    // Back (Shift+Tab) to the Run button, then on to the navbar's Sign out.
    s.press(&[keys::TAB], true).await;
    focus_is_visible(&s).await;
    tab_to(&s, "nav form[action='/logout'] button", true).await;
    s.screenshot("sign-out").await;
    s.press(&[keys::ENTER], false).await;
    s.find("nav a[href='/login']").await;
    s.wait_path("/").await;

    // On a phone the menu is folded behind the burger, a button the keyboard opens.
    s.set_viewport(390, 844, true).await;
    s.goto(&app.url("/")).await;
    tab_to(&s, "[data-testid=burger]", false).await;
    s.press(&[keys::ENTER], false).await;
    let burger = s.find("[data-testid=burger]").await;
    let started = Instant::now();
    while s.attribute(&burger, "aria-expanded").await.as_deref() != Some("true") {
        if started.elapsed() > webdriver::WAIT {
            s.fail("Enter on the burger did not open the menu").await;
        }
        tokio::time::sleep(webdriver::POLL).await;
    }
    tab_to(&s, "#main-menu a[href='/login']", false).await;
    s.screenshot("phone-menu").await;
    s.press(&[keys::ENTER], false).await;
    s.wait_path("/login").await;
    console_is_clean(&s).await;
    s.close().await;
    stage.done();
}
