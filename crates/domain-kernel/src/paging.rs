//! Which part of a list a request asks for: `?page=` on the HTML pages, `?offset=` and
//! `?limit=` in the JSON API. Parsed here, once, into bounded numbers, so that no handler does
//! arithmetic on a number a client chose.
//!
//! Values outside the bounds are refused, not clamped: a page gets a 400 page and the API a 422
//! problem document, each naming the parameter and its range. A page past the end of a list
//! (but within the bounds) is an empty page. An empty value (`?page=`, as a form sends it) is
//! the default on pages; the API, whose document says "integer", refuses it.

/// The highest page number a page accepts.
pub const MAX_PAGE: u32 = 100_000;
/// The highest `offset` the API accepts.
pub const MAX_OFFSET: u64 = 10_000_000;
/// The most items one API request returns.
pub const MAX_LIMIT: u32 = 100;
/// How many items an API request returns without `limit`.
pub const DEFAULT_LIMIT: u32 = 20;

/// A request's place in a list: a page number (1 to [`MAX_PAGE`]), an offset (0 to
/// [`MAX_OFFSET`]) and a limit (1 to [`MAX_LIMIT`]). Each is its default when the query string
/// leaves it out or empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    page: u32,
    offset: u64,
    limit: u32,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            page: 1,
            offset: 0,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// Who reads the query string: forms on pages send empty fields, API clients follow the
/// document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// An HTML page: an empty field is the default, because forms send every field.
    Page,
    /// The JSON API: an empty value is refused, as its OpenAPI document promises integers.
    Api,
}

/// Why a query string's paging was refused; the message names the parameter and its range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PagingError(String);

impl Paging {
    /// Reads `page`, `offset` and `limit` from a query string; other parameters are ignored.
    pub fn parse(query: &str, surface: Surface) -> Result<Self, PagingError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| PagingError("The query string could not be read.".into()))?;
        let mut paging = Paging::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in &pairs {
            let name = name.as_str();
            if !matches!(name, "page" | "offset" | "limit") {
                continue;
            }
            if seen.contains(&name) {
                return Err(PagingError(format!("Give `{name}` once.")));
            }
            seen.push(name);
            if value.is_empty() && surface == Surface::Page {
                continue;
            }
            match name {
                "page" => {
                    paging.page = bounded(value, 1, u64::from(MAX_PAGE))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            PagingError(format!(
                                "The page number must be a whole number from 1 to {MAX_PAGE}."
                            ))
                        })?;
                }
                "offset" => {
                    paging.offset = bounded(value, 0, MAX_OFFSET).ok_or_else(|| {
                        PagingError(format!(
                            "`offset` must be a whole number from 0 to {MAX_OFFSET}."
                        ))
                    })?;
                }
                _ => {
                    paging.limit = bounded(value, 1, u64::from(MAX_LIMIT))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            PagingError(format!(
                                "`limit` must be a whole number from 1 to {MAX_LIMIT}."
                            ))
                        })?;
                }
            }
        }
        Ok(paging)
    }

    /// The page number, from 1.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// The page before this one, if any.
    pub fn previous_page(&self) -> Option<u32> {
        (self.page > 1).then(|| self.page - 1)
    }

    /// The page after this one, when there is more to show and it is within the bounds.
    pub fn next_page(&self, more: bool) -> Option<u32> {
        (more && self.page < MAX_PAGE).then(|| self.page + 1)
    }

    /// Where this page starts in a list shown `size` items a page. At most
    /// `MAX_PAGE × u32::MAX`, far inside `u64` and `i64`.
    pub fn page_offset(&self, size: u32) -> u64 {
        u64::from(self.page - 1) * u64::from(size)
    }

    /// The API's `offset`.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The API's `limit`.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

/// The links between pages of a list, as the `pagination` template component shows them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Pager {
    /// The page shown, from 1.
    pub page: u32,
    /// Known when the list counts its items.
    pub pages: Option<u64>,
    /// Link to the page before, absent on the first page.
    pub previous: Option<String>,
    /// Link to the page after, absent when there is nothing more.
    pub next: Option<String>,
    /// The links' words: "Newer"/"Older" for history, "Previous"/"Next" otherwise.
    pub previous_label: &'static str,
    /// The word of the `next` link.
    pub next_label: &'static str,
    /// The links' common start (`/admin/users?q=ada&`).
    #[serde(skip)]
    base: String,
}

impl Paging {
    /// Links to the pages before and after this one, keeping the list's filter (its fields
    /// become the query string, encoded).
    pub fn pager(&self, path: &str, filter: &impl serde::Serialize, more: bool) -> Pager {
        let query = serde_urlencoded::to_string(filter).unwrap_or_default();
        let base = if query.is_empty() {
            format!("{path}?")
        } else {
            format!("{path}?{query}&")
        };
        let link = |page: u32| format!("{base}page={page}");
        Pager {
            page: self.page,
            pages: None,
            previous: self.previous_page().map(link),
            next: self.next_page(more).map(link),
            previous_label: "Newer",
            next_label: "Older",
            base,
        }
    }
}

impl Pager {
    /// For lists that count their items: "Page 2 of 7", and "Previous"/"Next".
    pub fn of_pages(mut self, pages: u64) -> Self {
        // Past the end, "Previous" goes back to the last page there is.
        if u64::from(self.page) > pages {
            self.previous = Some(format!("{}page={pages}", self.base));
        }
        self.pages = Some(pages);
        self.previous_label = "Previous";
        self.next_label = "Next";
        self
    }
}

/// A run of ASCII digits (no sign, no spaces) whose value is within `min..=max`.
fn bounded(text: &str, min: u64, max: u64) -> Option<u64> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Only digits: the parse fails only when the number does not fit, which is out of range.
    text.parse::<u64>().ok().filter(|n| (min..=max).contains(n))
}

#[cfg(test)]
mod tests {
    use super::{MAX_LIMIT, MAX_OFFSET, MAX_PAGE, Paging, Surface};

    fn parse(query: &str) -> Result<Paging, super::PagingError> {
        Paging::parse(query, Surface::Page)
    }

    #[test]
    fn defaults_and_values_within_the_bounds() {
        let none = parse("").unwrap();
        assert_eq!((none.page(), none.offset(), none.limit()), (1, 0, 20));
        let empty = parse("page=&offset=&limit=&q=x").unwrap();
        assert_eq!(empty, none);
        let full = parse(&format!(
            "page={MAX_PAGE}&offset={MAX_OFFSET}&limit={MAX_LIMIT}"
        ))
        .unwrap();
        assert_eq!(
            (full.page(), full.offset(), full.limit()),
            (MAX_PAGE, MAX_OFFSET, MAX_LIMIT)
        );
        assert_eq!(full.next_page(true), None, "no link past the last page");
        assert_eq!(
            full.page_offset(u32::MAX),
            u64::from(MAX_PAGE - 1) * u64::from(u32::MAX)
        );
        let third = parse("page=003").unwrap();
        assert_eq!(third.page_offset(25), 50);
        assert_eq!(third.previous_page(), Some(2));
        assert_eq!(third.next_page(true), Some(4));
        assert_eq!(third.next_page(false), None);
    }

    #[test]
    fn anything_else_is_refused_with_the_parameter_and_its_range() {
        for page in [
            "0",
            "-1",
            "1.5",
            "1e3",
            " 1",
            "+1",
            "one",
            "100001",
            "1000000000000000000",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999999999999999",
        ] {
            let error = parse(&format!("page={}", urlencode(page))).unwrap_err();
            assert!(error.to_string().contains("from 1 to 100000"), "{page}");
        }
        for offset in ["-1", "10000001", "9223372036854775808", "x"] {
            let error = parse(&format!("offset={offset}")).unwrap_err();
            assert!(error.to_string().contains("`offset`"), "{offset}");
        }
        for limit in ["0", "101", "-5", "4294967297"] {
            let error = parse(&format!("limit={limit}")).unwrap_err();
            assert!(error.to_string().contains("from 1 to 100"), "{limit}");
        }
        assert!(parse("page=1&page=2").is_err(), "given twice");
        assert!(
            Paging::parse("offset=", Surface::Api).is_err(),
            "the API takes no empty number"
        );
    }

    fn urlencode(text: &str) -> String {
        serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
    }
}
