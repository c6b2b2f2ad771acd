//! Starting the fake: the state shared by the server, the delivery worker and [`Running`], and
//! [`FakeStripe::start`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::running::Running;
use crate::store::Store;
use crate::webhook::{self, Job};
use crate::{api, ids, model, persist};

/// The state shared by the server, the delivery worker and [`Running`].
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub webhook_secret: String,
    pub store: Mutex<Store>,
    pub http: reqwest::Client,
    pub delivery_tx: mpsc::UnboundedSender<Job>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Where the state is kept between runs, if anywhere.
    pub state_file: Option<persist::StateFile>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the state to the state file, if there is one (after every change).
    pub fn persist(&self) {
        if let Some(file) = &self.state_file {
            file.save(&self.store);
        }
    }

    /// Keeps a background task so that stopping the fake stops it too.
    pub fn track(&self, handle: JoinHandle<()>) {
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tasks.retain(|task| !task.is_finished());
        tasks.push(handle);
    }

    pub fn abort_tasks(&self) {
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

/// The fake Stripe server.
#[derive(Debug, Clone, Copy)]
pub struct FakeStripe;

impl FakeStripe {
    /// Binds `config.bind` (port 0: a free port), seeds the catalog and serves in the
    /// background of the current tokio runtime until the [`Running`] is dropped or shut down.
    pub async fn start(config: Config) -> std::io::Result<Running> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Some(item) = config.catalog.iter().find(|item| {
            item.recurring
                .as_deref()
                .is_some_and(|interval| model::Interval::parse(interval).is_none())
        }) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "catalog item {:?}: recurring must be day, week, month or year",
                    item.name
                ),
            ));
        }
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let public_url = config
            .public_url
            .clone()
            .map(|url| url.trim_end_matches('/').to_string())
            .unwrap_or_else(|| base_url.clone());
        let webhook_secret = config
            .webhook_secret
            .clone()
            .unwrap_or_else(ids::webhook_secret);
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let state_file = match &config.state_file {
            Some(path) => Some(persist::StateFile::open(path)?),
            None => None,
        };
        let kept = match &config.state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
        let mut store = Store::new(
            public_url,
            config.api_version.clone(),
            config.session_ttl.as_secs() as i64,
            config.webhook_url.clone(),
            delivery_tx.clone(),
        );
        match kept {
            Some(snapshot) => {
                store.restore(snapshot);
                store.seed_missing(&config.catalog);
            }
            None => store.seed(&config.catalog),
        }
        if let Some(file) = &state_file {
            file.announce(&base_url)?;
        }
        let shared = Arc::new(Shared {
            config,
            webhook_secret: webhook_secret.clone(),
            store: Mutex::new(store),
            http,
            delivery_tx,
            tasks: Mutex::new(Vec::new()),
            state_file,
        });
        shared.persist();
        let worker = tokio::spawn(webhook::worker(shared.clone(), delivery_rx));
        let router = api::router(shared.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // The test controls answer only loopback peers: the server records each one.
            let result = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            })
            .await;
            if let Err(error) = result {
                tracing::error!(%error, "the Stripe fake stopped");
            }
        });
        tracing::info!(%base_url, "Stripe fake listening");
        Ok(Running::new(
            base_url,
            addr,
            webhook_secret,
            shared,
            [server, worker],
            shutdown_tx,
        ))
    }
}
