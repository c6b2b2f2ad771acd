//! Reading columns of a row into domain values, or reporting the row as corrupt.

#[cfg(feature = "credits")]
use quickscale_domain_credits::Credits;
use quickscale_domain_kernel::StorageError;
use sqlx::Row as _;
use time::OffsetDateTime;

use super::{Db, Row};
#[cfg(feature = "credits")]
use crate::sql::parse;
use crate::sql::storage_error;
use crate::sql::time::DbTime;

/// A column's value.
pub(super) fn get<'r, T>(row: &'r Row, column: &str) -> Result<T, StorageError>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get(column).map_err(storage_error)
}

/// A timestamp column.
pub(super) fn time_of(row: &Row, column: &str) -> Result<OffsetDateTime, StorageError> {
    Ok(get::<DbTime>(row, column)?.0)
}

/// A nullable timestamp column.
pub(super) fn optional_time(
    row: &Row,
    column: &str,
) -> Result<Option<OffsetDateTime>, StorageError> {
    Ok(get::<Option<DbTime>>(row, column)?.map(|t| t.0))
}

/// An amount of credits stored as cents.
#[cfg(feature = "credits")]
pub(super) fn cents(what: &str, value: i64) -> Result<Credits, StorageError> {
    parse(what, Credits::from_cents(value))
}
