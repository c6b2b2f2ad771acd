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
    /// The project folder (a temporary one unless given).
    pub dir: std::path::PathBuf,
    /// The settings it was started with, to start it again or run its commands.
    settings: Vec<(String, String)>,
    server: tokio::task::JoinHandle<()>,
    /// The job workers (as `serve` runs them), stopped by `stop`.
    workers: (
        tokio_util::sync::CancellationToken,
        tokio::task::JoinHandle<()>,
    ),
    _temporary: Option<tempfile::TempDir>,
}

impl Live {
    /// Starts the app with these settings (over in-memory storage unless DATABASE_URL is given).
    pub async fn start(extra: &[(&str, &str)]) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let mut live = Self::start_app_in(App::new("Live"), dir.path(), extra).await;
        live._temporary = Some(dir);
        live
    }

    /// Starts `app` (with the project's own services, say) like [`Live::start`].
    pub async fn start_app(app: App, extra: &[(&str, &str)]) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let mut live = Self::start_app_in(app, dir.path(), extra).await;
        live._temporary = Some(dir);
        live
    }

    /// Starts the app on a new port, its project in `dir` (where its data stays between
    /// starts when DATABASE_URL is a file).
    pub async fn start_in(dir: &std::path::Path, extra: &[(&str, &str)]) -> Live {
        Self::start_app_in(App::new("Live"), dir, extra).await
    }

    /// Starts `app` on a new port, its project in `dir`.
    pub async fn start_app_in(app: App, dir: &std::path::Path, extra: &[(&str, &str)]) -> Live {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut settings: Vec<(String, String)> = [
            ("SECRET_KEY", "live-test-secret-key-0123456789abcdef"),
            ("DATABASE_URL", "memory"),
            ("ADMIN_PASSWORD", "admin-password-1"),
            // Workers look for due jobs often, so tests wait little for emails and retries.
            ("JOBS_POLL_MS", "20"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        settings.push(("BASE_URL".into(), base.clone()));
        let config = config(dir, &settings);
        let built = app
            .with_hasher(Arc::new(PlainTextHasher))
            .build(config)
            .await
            .unwrap();
        quickscale_app_web::onboarding::ensure_admin(&built.state)
            .await
            .unwrap();
        let router = built.router;
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let stop = tokio_util::sync::CancellationToken::new();
        let workers = tokio::spawn(quickscale_app_web::run_workers(
            built.state.clone(),
            stop.clone(),
        ));
        Live {
            workers: (stop, workers),
            base,
            state: built.state,
            dir: dir.to_owned(),
            settings,
            server,
            _temporary: None,
        }
    }

    /// The app's configuration (to run its commands beside it, or after it).
    pub fn config(&self) -> Config {
        config(&self.dir, &self.settings)
    }

    /// Stops serving and lets go of everything the app holds (its database, its Stripe
    /// stand-in), as a stopped process would; returns the project folder.
    pub async fn stop(self) -> (std::path::PathBuf, Option<tempfile::TempDir>) {
        self.server.abort();
        let _ = self.server.await;
        self.workers.0.cancel();
        let _ = self.workers.1.await;
        let state_file = quickscale_app_web::payments::offline::state_file(self.state.config());
        self.state.database().close().await;
        drop(self.state);
        // Background work still finishing (webhook processing) holds the state a moment.
        for _ in 0..200 {
            if state_file
                .as_deref()
                .is_none_or(|f| quickscale_stripe_fake::running_at(f).is_none())
            {
                return (self.dir, self._temporary);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the app's Stripe stand-in did not stop");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The page at `path`, as `client` sees it.
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn balance(&self, email: &str) -> Credits {
        super::balance(&self.state, email).await
    }

    #[allow(dead_code)] // not every test binary looks users up
    pub async fn user(&self, email: &str) -> quickscale_domain_identity::User {
        super::user(&self.state, email).await
    }

    /// The outbox's messages, newest first (every email is stored there before it is sent).
    pub async fn outbox(&self) -> Vec<quickscale_domain_kernel::OutboxMessage> {
        self.state
            .stores()
            .outbox
            .list(&quickscale_domain_kernel::OutboxQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
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

    /// Waits until the offline stand-in has no delivery left to make (withheld events aside)
    /// and the inbox has processed every event it delivered (see `super::wait_for_inbox`):
    /// after this, "nothing changed" means nothing will.
    pub async fn wait_for_stand_in(&self) {
        use quickscale_stripe_fake::DeliveryState;
        let fake = self
            .state
            .billing()
            .expect("billing is on")
            .offline
            .clone()
            .expect("the offline stand-in runs");
        let mut delivered = Vec::new();
        for _ in 0..400 {
            let states: Vec<(String, Option<DeliveryState>)> = fake
                .events()
                .iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .map(|id| {
                    let state = fake.delivery_state(&id);
                    (id, state)
                })
                .collect();
            if states
                .iter()
                .all(|(_, state)| *state != Some(DeliveryState::Pending))
            {
                delivered = states
                    .into_iter()
                    .filter(|(_, state)| *state == Some(DeliveryState::Delivered))
                    .map(|(id, _)| id)
                    .collect();
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for id in delivered {
            super::wait_for_inbox(&self.state, &id, 1).await;
        }
    }

    pub async fn register(&self, client: &reqwest::Client, email: &str) {
        let page = self.page(client, "/register").await;
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

impl Live {
    /// Starts buying the first credit pack on the billing page, as the user signed in on
    /// `client` would; returns the answer (a redirect to the processor's payment page).
    pub async fn checkout(&self, client: &reqwest::Client) -> reqwest::Response {
        let page = self.page(client, "/billing").await;
        let form = [
            ("pack", hidden(&page, "pack")),
            ("form_key", hidden(&page, "form_key")),
            ("csrf_token", hidden(&page, "csrf_token")),
        ];
        client
            .post(self.url("/billing/checkout"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Signs `client` in (its cookie jar keeps the session).
    pub async fn login(&self, client: &reqwest::Client, email: &str, password: &str) {
        let page = self.page(client, "/login").await;
        let form = [
            ("email", email),
            ("password", password),
            ("next", "/dashboard"),
            ("csrf_token", &hidden(&page, "csrf_token")),
        ];
        let response = client
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{email} could not sign in");
    }
}

fn config(dir: &std::path::Path, settings: &[(String, String)]) -> Config {
    let pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Config::from_pairs(dir, "Live", &pairs).unwrap()
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

impl Live {
    /// Makes an API key on the settings page, as its owner (signed in on `client`) would.
    pub async fn make_key(&self, client: &reqwest::Client, name: &str) -> String {
        self.make_key_with(client, name, &[]).await
    }

    /// Makes a key with more fields of the form (its limits: `monthly_cap`, `per_minute`).
    pub async fn make_key_with(
        &self,
        client: &reqwest::Client,
        name: &str,
        fields: &[(&str, &str)],
    ) -> String {
        let page = self.page(client, "/settings/api-keys").await;
        let (form_token, csrf_token) = (hidden(&page, "form_token"), hidden(&page, "csrf_token"));
        let mut form = vec![
            ("name", name),
            ("current_password", PASSWORD),
            ("form_token", &form_token),
            ("csrf_token", &csrf_token),
        ];
        form.extend_from_slice(fields);
        let made = client
            .post(self.url("/settings/api-keys"))
            .form(&form)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        hidden(&made, "new_key")
    }

    /// Grants `credits` to `email`'s account, as an admin grant.
    pub async fn fund(&self, email: &str, credits: u32) {
        use quickscale_domain_credits::{CreditCommand, GrantKind, SourceRef};
        let command = CreditCommand::Grant {
            kind: GrantKind::Admin,
            amount: Credits::whole(credits),
            expires_at: None,
            source: SourceRef::parse(format!("test:{email}")).unwrap(),
        };
        self.change_credits(email, &format!("fund:{credits}"), command)
            .await;
    }

    /// Takes `credits` from `email`'s account (to leave it short of a run's cost).
    pub async fn spend(&self, email: &str, credits: u32) {
        let command = quickscale_domain_credits::CreditCommand::Consume {
            amount: Credits::whole(credits),
        };
        self.change_credits(email, &format!("spend:{credits}"), command)
            .await;
    }

    async fn change_credits(
        &self,
        email: &str,
        what: &str,
        command: quickscale_domain_credits::CreditCommand,
    ) {
        use quickscale_domain_credits::{AccountId, Actor, IdempotencyKey, Operation, Reason};
        let user = self.user(email).await;
        self.state
            .credits()
            .execute(
                AccountId::new(user.id.as_uuid()),
                Operation {
                    key: IdempotencyKey::parse(format!("test:{what}:{email}")).unwrap(),
                    actor: Actor::System,
                    reason: Reason::parse(format!("Test: {what}")).unwrap(),
                    command,
                },
                self.state.clock().now(),
            )
            .await
            .unwrap();
    }
}

/// Waits until `done` answers true, checking every 50 ms; panics naming `what` after 30 s.
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 30 s");
}
