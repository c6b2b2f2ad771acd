//! Opaque cursors for the API's lists: every list answer carries `next_cursor` (null on the last
//! page), and the next request passes it back as `?cursor=`. A cursor names the list it belongs
//! to, so one list's cursor is refused by another; what it holds inside is ours to change.

use serde::Deserialize;

use crate::api::ApiProblem;
use crate::paging::{MAX_OFFSET, Paging};

/// Which list a cursor belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Runs,
    Usage,
    Ledger,
    Payments,
}

impl List {
    fn tag(self) -> &'static str {
        match self {
            List::Runs => "runs",
            List::Usage => "usage",
            List::Ledger => "ledger",
            List::Payments => "payments",
        }
    }
}

/// `?cursor=` as a list handler takes it (its other parameters are read elsewhere).
#[derive(Deserialize, Default)]
pub struct CursorQuery {
    pub cursor: Option<String>,
}

/// Makes the cursor of position `at` in `list`.
pub fn encode(list: List, at: u64) -> String {
    hex::encode(format!("{}:{at}", list.tag()))
}

/// Reads a cursor of `list`: the position it holds, from 1 to [`MAX_OFFSET`].
pub fn decode(list: List, cursor: &str) -> Result<u64, ApiProblem> {
    let refused = || {
        ApiProblem::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_cursor",
            format!(
                "`cursor` is not a cursor of this list; pass the `next_cursor` of a previous answer from {}.",
                list.tag()
            ),
        )
    };
    let bytes = hex::decode(cursor).map_err(|_| refused())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| refused())?;
    let (tag, at) = text.split_once(':').ok_or_else(refused)?;
    if tag != list.tag() {
        return Err(refused());
    }
    at.parse::<u64>()
        .ok()
        .filter(|at| (1..=MAX_OFFSET).contains(at))
        .ok_or_else(refused)
}

/// The cursor, when one is given: an empty `?cursor=` (as a form sends it) is none.
pub fn given(cursor: Option<&str>) -> Option<&str> {
    cursor.filter(|c| !c.is_empty())
}

/// Where an offset-paged list starts: at the cursor when there is one, else at `?offset=`
/// (which only `GET /runs` documents, from before cursors). Both at once are refused.
pub fn start(list: List, cursor: Option<&str>, paging: &Paging) -> Result<u64, ApiProblem> {
    match given(cursor) {
        Some(_) if paging.offset() != 0 => {
            Err(ApiProblem::invalid("Give `cursor` or `offset`, not both."))
        }
        Some(cursor) => decode(list, cursor),
        None => Ok(paging.offset()),
    }
}

/// The cursor of the page after one that started at `start`, held `limit` items and found
/// `more` after them.
pub fn next(list: List, start: u64, limit: u32, more: bool) -> Option<String> {
    let at = start + u64::from(limit);
    (more && at <= MAX_OFFSET).then(|| encode(list, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_in_its_own_list_only() {
        let cursor = encode(List::Runs, 40);
        assert_eq!(decode(List::Runs, &cursor).unwrap(), 40);
        assert_eq!(
            decode(List::Ledger, &cursor).unwrap_err().code,
            "invalid_cursor"
        );
        for bad in ["", "zz", &encode(List::Runs, 0), &hex::encode("runs:x")] {
            assert_eq!(
                decode(List::Runs, bad).unwrap_err().code,
                "invalid_cursor",
                "{bad}"
            );
        }
        assert_eq!(next(List::Runs, 20, 20, false), None);
        assert_eq!(next(List::Runs, 20, 20, true), Some(encode(List::Runs, 40)));
    }
}
