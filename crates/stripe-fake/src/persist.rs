//! Keeping the fake's state in a file ([`Config::state_file`](crate::Config::state_file)), so
//! that what it sold survives a restart: loaded at start, written after every change (each API
//! call, page form and test control that changes something, and each delivery), atomically
//! (a temporary file renamed over the old one).
//!
//! Kept: customers, products, prices, checkout sessions, payment intents, charges, refunds,
//! billing-portal sessions, subscriptions, invoices, events with their delivery state, and the
//! answers stored under idempotency keys. Not kept: the delivery log (attempts and payloads),
//! faults and withheld event types (test controls), and the configuration (address, webhook URL
//! and secret, retry schedule, catalog), which comes from the new start.
//!
//! One process at a time uses a state file: it holds an exclusive lock on `<file>.lock`, which
//! also names the address it serves ([`running_at`]).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::model::{
    Charge, Customer, EventRecord, IdempotencyEntry, Invoice, PaymentIntent, PortalSession, Price,
    Product, Refund, Session, Subscription,
};
use crate::store::Store;

/// The format of the file; a file of another version is refused, not guessed at.
const VERSION: u32 = 1;

#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: u32,
    seq: u64,
    customers: &'a HashMap<String, Customer>,
    products: &'a HashMap<String, Product>,
    prices: &'a HashMap<String, Price>,
    sessions: &'a HashMap<String, Session>,
    payment_intents: &'a HashMap<String, PaymentIntent>,
    charges: &'a HashMap<String, Charge>,
    refunds: &'a HashMap<String, Refund>,
    portal_sessions: &'a HashMap<String, PortalSession>,
    subscriptions: &'a HashMap<String, Subscription>,
    invoices: &'a HashMap<String, Invoice>,
    events: &'a [EventRecord],
    /// Only answers already given: a request still running when the file is written would
    /// otherwise hold its key for ever.
    idempotency: HashMap<&'a String, &'a IdempotencyEntry>,
}

/// The state as read back from the file.
#[derive(Deserialize)]
pub(crate) struct Snapshot {
    version: u32,
    pub seq: u64,
    pub customers: HashMap<String, Customer>,
    pub products: HashMap<String, Product>,
    pub prices: HashMap<String, Price>,
    pub sessions: HashMap<String, Session>,
    pub payment_intents: HashMap<String, PaymentIntent>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    pub portal_sessions: HashMap<String, PortalSession>,
    pub subscriptions: HashMap<String, Subscription>,
    pub invoices: HashMap<String, Invoice>,
    pub events: Vec<EventRecord>,
    pub idempotency: HashMap<String, IdempotencyEntry>,
}

fn encode(store: &Store) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&SnapshotRef {
        version: VERSION,
        seq: store.seq,
        customers: &store.customers,
        products: &store.products,
        prices: &store.prices,
        sessions: &store.sessions,
        payment_intents: &store.payment_intents,
        charges: &store.charges,
        refunds: &store.refunds,
        portal_sessions: &store.portal_sessions,
        subscriptions: &store.subscriptions,
        invoices: &store.invoices,
        events: &store.events,
        idempotency: store
            .idempotency
            .iter()
            .filter(|(_, entry)| entry.stored.is_some())
            .collect(),
    })
}

/// Reads the state file; `Ok(None)` when there is none yet. An unreadable file is an error that
/// says what to do: it is never overwritten by a fresh state.
pub(crate) fn load(path: &Path) -> io::Result<Option<Snapshot>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let unreadable = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the Stripe stand-in's state file {} cannot be read ({why}); move it away to start with an empty stand-in",
                path.display()
            ),
        )
    };
    let snapshot: Snapshot =
        serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
    if snapshot.version != VERSION {
        return Err(unreadable(format!(
            "it is version {}, this stand-in reads version {VERSION}",
            snapshot.version
        )));
    }
    Ok(Some(snapshot))
}

/// The lock file beside a state file.
fn lock_path(state_file: &Path) -> PathBuf {
    let mut name = state_file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The address of the stand-in that uses `state_file` now, if one runs (in this process or
/// another).
pub fn running_at(state_file: &Path) -> Option<String> {
    let mut file = File::open(lock_path(state_file)).ok()?;
    match file.try_lock() {
        Ok(()) => None,
        Err(TryLockError::WouldBlock) => {
            let mut url = String::new();
            file.read_to_string(&mut url).ok()?;
            Some(url.trim().to_owned()).filter(|u| !u.is_empty())
        }
        Err(TryLockError::Error(_)) => None,
    }
}

/// A state file in use by this process: the lock, and the writer.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    lock: Mutex<Option<File>>,
    /// Serializes writes, so that the file always ends with the latest state.
    writing: Mutex<()>,
    stopped: AtomicBool,
}

impl StateFile {
    /// Takes the lock on `path`'s lock file (creating its folder); refused while another
    /// stand-in holds it.
    pub fn open(path: &Path) -> io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path(path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let other = running_at(path).unwrap_or_else(|| "an address not yet known".into());
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "another Stripe stand-in uses the state file {} (it serves {other}); stop it first",
                        path.display()
                    ),
                ));
            }
            Err(TryLockError::Error(error)) => return Err(error),
        }
        Ok(StateFile {
            path: path.to_owned(),
            lock: Mutex::new(Some(lock)),
            writing: Mutex::new(()),
            stopped: AtomicBool::new(false),
        })
    }

    /// Writes the address this stand-in serves into the lock file, for [`running_at`].
    pub fn announce(&self, base_url: &str) -> io::Result<()> {
        let mut guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(file) = guard.as_mut() {
            file.set_len(0)?;
            file.write_all(base_url.as_bytes())?;
            file.flush()?;
        }
        Ok(())
    }

    /// Writes `store` to the file (a temporary file renamed over it). Failures are logged: the
    /// stand-in keeps serving from memory.
    pub fn save(&self, store: &Mutex<Store>) {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        let bytes = {
            let store = store.lock().unwrap_or_else(|p| p.into_inner());
            encode(&store)
        };
        let result = bytes.map_err(io::Error::other).and_then(|bytes| {
            let mut temporary = self.path.as_os_str().to_owned();
            temporary.push(".tmp");
            let temporary = PathBuf::from(temporary);
            std::fs::write(&temporary, bytes)?;
            std::fs::rename(&temporary, &self.path)
        });
        if let Err(error) = result {
            tracing::error!(%error, path = %self.path.display(), "the Stripe stand-in's state could not be saved");
        }
    }

    /// Stops writing and lets go of the lock (the stand-in stops; tasks still finishing must
    /// not write over the state of the next one).
    pub fn release(&self) {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        self.stopped.store(true, Ordering::SeqCst);
        self.lock.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
