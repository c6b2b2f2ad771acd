//! What the SQLite and PostgreSQL adapters share: timestamp encoding, error mapping, embedded
//! migrations, the [`Backend`] trait and the store implementations in `stores/` (written once,
//! compiled once per backend, because the SQL is the same text in both dialects: `$n`
//! parameters, `RETURNING` and `ON CONFLICT`).

// A build with some of the ports leaves some of these helpers unused.
#![cfg_attr(not(feature = "stores"), allow(dead_code))]

pub(crate) mod areas;
pub(crate) mod time;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use quickscale_domain_kernel::{StorageError, StorageFailure};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Pool, Transaction};
use uuid::Uuid;

/// What the store code in `stores/` needs from a backend's `Database`: its pools, the two
/// transactions the stores start, and where the two SQL dialects differ.
pub(crate) trait Backend: Clone + Send + Sync + 'static {
    /// The sqlx database.
    type Db: sqlx::Database;

    /// Appended to a `SELECT` inside a write transaction to lock the rows it reads (empty in
    /// SQLite, whose write transaction already excludes other writers).
    const FOR_UPDATE: &'static str;

    /// "Equal, treating NULLs as equal" (`IS NOT DISTINCT FROM`; SQLite spells it `IS`).
    const NULL_SAFE_EQUAL: &'static str;

    /// The database's name in OpenTelemetry's `db.system` attribute (`sqlite`, `postgresql`).
    const SYSTEM: &'static str;

    /// Whether statements can write in their `WITH` clauses (PostgreSQL: several writes in one
    /// round trip; SQLite cannot).
    const WRITING_WITH: bool;

    /// The pool for reads.
    fn reader(&self) -> &Pool<Self::Db>;

    /// The pool for writes (one connection in SQLite, so writers queue there).
    fn writer(&self) -> &Pool<Self::Db>;

    /// A write transaction (in SQLite it excludes other writers from the start).
    async fn begin_write(&self) -> Result<Transaction<'static, Self::Db>, StorageError>;

    /// A write transaction holding the credit account exclusively (a row lock in PostgreSQL, an
    /// immediate transaction on the single writer in SQLite), or `None` when the account does
    /// not exist.
    async fn begin_account(
        &self,
        account: Uuid,
    ) -> Result<Option<Transaction<'static, Self::Db>>, StorageError>;
}

/// Gives every method of a store's port implementation a span of its own: a database call in a
/// trace, named `db.<store>.<method>`, an OpenTelemetry client span with the attributes
/// `db.system` (the backend) and `db.operation` (the method). Wrap the whole
/// `#[async_trait] impl Port for Store { ... }` block:
///
/// ```ignore
/// traced_store! { "users",
/// #[async_trait]
/// impl UserRepository for SqlUserRepository {
///     async fn by_id(&self, id: UserId) -> Result<Option<User>, StorageError> { ... }
/// }
/// }
/// ```
///
/// The spans are at `debug` under [`crate::DB_SPAN_TARGET`], so with the default log filter and no
/// traces a call costs one disabled callsite check (no span is created).
macro_rules! traced_store {
    (
        $store:literal,
        $(#[$impl_attr:meta])*
        impl $($port:ident)::+ for $ty:ident {
            $(
                $(#[$attr:meta])*
                async fn $name:ident ($($params:tt)*) -> $ret:ty $body:block
            )*
        }
    ) => {
        $(#[$impl_attr])*
        impl $($port)::+ for $ty {
            $(
                $(#[$attr])*
                async fn $name($($params)*) -> $ret {
                    let span = tracing::span!(
                        target: crate::DB_SPAN_TARGET,
                        tracing::Level::DEBUG,
                        concat!("db.", $store, ".", stringify!($name)),
                        otel.kind = "client",
                        db.system = <super::Database as crate::sql::Backend>::SYSTEM,
                        db.operation = stringify!($name),
                    );
                    crate::sql::traced::<$ret, _>(span, async move $body).await
                }
            )*
        }
    };
}
pub(crate) use traced_store;

/// Runs a store method's body in its span (see [`traced_store`]); naming the output lets the
/// body's `?` convert its errors as in the method itself.
pub(crate) async fn traced<T, F: Future<Output = T>>(span: tracing::Span, call: F) -> T {
    tracing::Instrument::instrument(call, span).await
}

/// Maps a sqlx error to a storage failure the domain understands.
pub(crate) fn storage_error(error: sqlx::Error) -> StorageError {
    let failure = match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StorageFailure::Unavailable,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // Connection exceptions, shutdown, cannot connect now, too many connections.
            Some(code) if code.starts_with("08") || code.starts_with("57P") || code == "53300" => {
                StorageFailure::Unavailable
            }
            // SQLite: busy / locked.
            Some("5") | Some("6") => StorageFailure::Unavailable,
            _ => StorageFailure::Other,
        },
        sqlx::Error::Decode(_)
        | sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::TypeNotFound { .. } => StorageFailure::Corrupt,
        _ => StorageFailure::Other,
    };
    StorageError::with_source(failure, "database error", error)
}

/// True when the error is a unique-index violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Migrations compiled into the binary, so an app needs no migration files at run time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(pub &'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send + 's>>
    {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        sqlx::SqlStr::from_static(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

impl Embedded {
    /// The versions of these migrations that are not in `applied`.
    pub(crate) fn missing_from(&self, applied: &[i64]) -> Vec<i64> {
        self.0
            .iter()
            .map(|(version, _, _)| *version)
            .filter(|version| !applied.contains(version))
            .collect()
    }
}

pub(crate) async fn migrator(source: Embedded) -> Result<Migrator, StorageError> {
    Migrator::new(source).await.map_err(|e| {
        StorageError::with_source(StorageFailure::Other, "could not load migrations", e)
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Reads a stored value back into a domain type, or reports the row as corrupt.
pub(crate) fn parse<T, E: std::fmt::Display>(
    what: &str,
    value: Result<T, E>,
) -> Result<T, StorageError> {
    value.map_err(|e| StorageError::corrupt(format!("stored {what} is invalid: {e}")))
}

/// Every file in `migrations/<backend>/` is registered in `embedded`, under the version its name
/// starts with and with the same text (a file added but not registered is never applied).
#[cfg(test)]
pub(crate) fn assert_every_migration_registered(embedded: &Embedded, backend: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files: Vec<(i64, String)> = std::fs::read_dir(&dir)
        .expect("the migrations folder")
        .map(|entry| {
            let path = entry.expect("a folder entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version = name
                .split('_')
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} does not start with its version"));
            (version, std::fs::read_to_string(&path).expect("readable"))
        })
        .collect();
    files.sort();
    let registered: Vec<(i64, String)> = embedded
        .0
        .iter()
        .map(|(version, _, sql)| (*version, (*sql).to_owned()))
        .collect();
    assert_eq!(
        files.iter().map(|f| f.0).collect::<Vec<_>>(),
        registered.iter().map(|r| r.0).collect::<Vec<_>>(),
        "the {backend} migration files and the registered versions differ"
    );
    assert_eq!(
        files, registered,
        "a registered {backend} migration differs from its file"
    );
}
