//! Where the app may send a browser back to after signing in (`?next=`): a path on this site,
//! nothing else.
//!
//! Browsers resolve a `Location` by the WHATWG URL rules, which are lenient: they drop tabs and
//! newlines anywhere (`/\t/evil.example` becomes `//evil.example`), read a backslash as a slash,
//! and take `//host` as another site. Proxies and frameworks may percent-decode a path before
//! looking at it (`/%2F/evil.example`). So instead of listing what is dangerous, a `LocalPath`
//! admits only what an address on this site looks like, in its raw form and in every
//! percent-decoded form.

use std::fmt;

/// Where a sign-in lands when no acceptable `next` was given.
pub const DEFAULT_LANDING: &str = "/dashboard";

/// Longer targets are refused (no page of the app has one).
const MAX_LEN: usize = 2048;

/// Percent-decoding layers looked through (`%252F` is `%2F` is `/`).
const DECODE_LAYERS: usize = 4;

/// A same-origin path with an optional query: starts with one `/`, printable ASCII only, no
/// backslash, no `//` and no `.` or `..` segment in its path, before or after percent-decoding.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LocalPath(String);

impl LocalPath {
    /// The target if it is a path on this site.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > MAX_LEN {
            return None;
        }
        let mut layer = text.as_bytes().to_vec();
        for _ in 0..DECODE_LAYERS {
            if !looks_local(&layer) {
                return None;
            }
            let decoded = percent_decode(&layer);
            if decoded == layer {
                return Some(LocalPath(text.to_owned()));
            }
            layer = decoded;
        }
        // Still changing after this many layers: nobody encodes a real address like that.
        None
    }

    /// The target if it is a path on this site, the dashboard otherwise.
    pub fn or_default(text: &str) -> Self {
        Self::parse(text).unwrap_or_else(|| LocalPath(DEFAULT_LANDING.to_owned()))
    }

    /// The path as it was given (still percent-encoded), ready for a `Location` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for LocalPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// One layer of the checks, on raw bytes (a decoded layer need not be UTF-8).
fn looks_local(bytes: &[u8]) -> bool {
    let printable = |b: &u8| (0x21..=0x7e).contains(b);
    if bytes.first() != Some(&b'/') || !bytes.iter().all(printable) || bytes.contains(&b'\\') {
        return false;
    }
    let path_end = bytes
        .iter()
        .position(|b| *b == b'?' || *b == b'#')
        .unwrap_or(bytes.len());
    let path = &bytes[..path_end];
    !path.windows(2).any(|pair| pair == b"//")
        && !path
            .split(|b| *b == b'/')
            .any(|segment| segment == b"." || segment == b"..")
}

/// `%XX` to its byte; anything else (including a malformed `%`) as it is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'%'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{DEFAULT_LANDING, LocalPath};

    #[test]
    fn paths_on_this_site_are_kept() {
        for path in [
            "/",
            "/dashboard",
            "/services/text_sentiment_analysis",
            "/usage?service=demo&page=2",
            "/admin/users?q=ada%40example.com",
            "/admin/users?q=ada+lovelace",
            "/settings#keys",
            "/billing/payments/%7Bid%7D",
        ] {
            assert_eq!(LocalPath::or_default(path).as_str(), path);
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_lands_on_the_dashboard() {
        for hostile in [
            "",
            "dashboard",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/\x0b/evil.example",
            "/\x0c/evil.example",
            "/\0/evil.example",
            " //evil.example",
            "/ /evil.example",
            "\t//evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "%2F%2Fevil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0B/evil.example",
            "/%00/evil.example",
            "/%20/evil.example",
            "/%5Cevil.example",
            "/%5c%5cevil.example",
            "/%252F%252Fevil.example",
            "/%25252F/evil.example",
            "/%2525252F/evil.example",
            "/./evil.example",
            "/.//evil.example",
            "/a/../evil.example",
            "/%2e%2e/evil.example",
            "/\u{3000}/evil.example",
            "/%E3%80%80/evil.example",
            "/caf\u{e9}",
        ] {
            assert_eq!(
                LocalPath::or_default(hostile).as_str(),
                DEFAULT_LANDING,
                "{hostile:?}"
            );
        }
        assert_eq!(
            LocalPath::parse(&format!("/{}", "a".repeat(5000))),
            None,
            "too long"
        );
    }
}
