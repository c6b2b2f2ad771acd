//! The app on a real port, driven over HTTP with reqwest (cookies kept, redirects not followed),
//! for tests that need the network: webhooks from the Stripe stand-in, database outages.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use quickscale_adapters::memory::PlainTextHasher;
use quickscale_app_web::{App, AppState, Config};
use quickscale_domain_credits::Credits;

pub const PASSWORD: &str = "a long enough password";

pub struct Live {
    pub base: String,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

impl Live {
    /// Starts the app with these settings (over in-memory storage unless DATABASE_URL is given).
    pub async fn start(extra: &[(&str, &str)]) -> Live {
        Self::start_app(App::new("Live"), extra).await
    }

    /// Starts `app` (with the project's own services, say) like [`Live::start`].
    pub async fn start_app(app: App, extra: &[(&str, &str)]) -> Live {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let mut pairs = vec![
            ("SECRET_KEY", "live-test-secret-key-0123456789abcdef"),
            ("DATABASE_URL", "memory"),
            ("BASE_URL", base.as_str()),
            ("ADMIN_PASSWORD", "admin-password-1"),
        ];
        pairs.extend_from_slice(extra);
        let config = Config::from_pairs(dir.path(), "Live", &pairs).unwrap();
        let built = app
            .with_hasher(Arc::new(PlainTextHasher))
            .build(config)
            .await
            .unwrap();
        quickscale_app_web::onboarding::ensure_admin(&built.state)
            .await
            .unwrap();
        let router = built.router;
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Live {
            base,
            state: built.state,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn balance(&self, email: &str) -> Credits {
        super::balance(&self.state, email).await
    }

    #[allow(dead_code)] // not every test binary looks users up
    pub async fn user(&self, email: &str) -> quickscale_domain_identity::User {
        super::user(&self.state, email).await
    }

    pub async fn wait_for_balance(&self, email: &str, expected: Credits) {
        for _ in 0..200 {
            if self.balance(email).await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the balance never reached {expected}: {}",
            self.balance(email).await
        );
    }

    pub async fn register(&self, client: &reqwest::Client, email: &str) {
        let page = client
            .get(self.url("/register"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = hidden(&page, "csrf_token");
        let form = [
            ("email", email),
            ("password", PASSWORD),
            ("password_confirmation", PASSWORD),
            ("display_name", ""),
            ("csrf_token", &token),
        ];
        let response = client
            .post(self.url("/register"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the first hidden input called `name`.
pub fn hidden(body: &str, name: &str) -> String {
    let at = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in {body}"));
    let tag = &body[at..at + body[at..].find('>').unwrap()];
    let value = &tag[tag.find("value=\"").unwrap() + 7..];
    value[..value.find('"').unwrap()].to_owned()
}
