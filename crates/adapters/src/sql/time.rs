//! `DbTime`: timestamps stored so that both backends compare and sort them correctly.
//!
//! PostgreSQL keeps `TIMESTAMPTZ`. SQLite would keep RFC 3339 text whose lexical order is not
//! time order (fractional seconds vary in length), so there it is INTEGER microseconds since the
//! Unix epoch.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Type};
use time::OffsetDateTime;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct DbTime(pub OffsetDateTime);

impl DbTime {
    pub(crate) fn micros(self) -> i64 {
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }

    pub(crate) fn from_micros(micros: i64) -> Result<Self, BoxDynError> {
        Ok(DbTime(OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(micros) * 1_000,
        )?))
    }
}

impl From<OffsetDateTime> for DbTime {
    fn from(value: OffsetDateTime) -> Self {
        DbTime(value)
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use sqlx::sqlite::{Sqlite, SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};

    use super::*;

    impl Type<Sqlite> for DbTime {
        fn type_info() -> SqliteTypeInfo {
            <i64 as Type<Sqlite>>::type_info()
        }
        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <i64 as Type<Sqlite>>::compatible(ty)
        }
    }

    impl Encode<'_, Sqlite> for DbTime {
        fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
            <i64 as Encode<Sqlite>>::encode(self.micros(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for DbTime {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            DbTime::from_micros(<i64 as Decode<Sqlite>>::decode(value)?)
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};

    use super::*;

    impl Type<Postgres> for DbTime {
        fn type_info() -> PgTypeInfo {
            <OffsetDateTime as Type<Postgres>>::type_info()
        }
    }

    impl Encode<'_, Postgres> for DbTime {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <OffsetDateTime as Encode<Postgres>>::encode_by_ref(&self.0, buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for DbTime {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            <OffsetDateTime as Decode<Postgres>>::decode(value).map(DbTime)
        }
    }
}
