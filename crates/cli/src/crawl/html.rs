//! A small, strict HTML reader for the crawler: it tokenizes a page, checks that its elements
//! nest and close as HTML requires (void elements, optional end tags, raw-text elements), and
//! collects what the crawler needs: the title, the links, the stylesheets, scripts and images,
//! which front-end libraries the markup relies on, and any template text that leaked into it.
//!
//! Browsers repair broken markup silently; this reader reports it instead, with line numbers.

use std::collections::HashMap;

/// What a page is made of, and what is wrong with it.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Well-formedness problems, a missing or empty title, leaked template text.
    pub problems: Vec<String>,
    pub title: Option<String>,
    /// `href`s of `<a>` and `<area>`, and `action`s of GET forms, as written.
    pub links: Vec<String>,
    pub assets: Vec<AssetRef>,
    /// An attribute that needs htmx (`hx-post`…), if any.
    pub htmx_attribute: Option<String>,
    /// An attribute that needs Alpine (`x-data`…), if any.
    pub alpine_attribute: Option<String>,
    /// A Bulma class the markup uses (`navbar`…), if any.
    pub bulma_class: Option<String>,
}

/// A stylesheet, script or image the page loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    pub kind: AssetKind,
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetKind {
    Stylesheet,
    Script,
    Image,
}

impl AssetKind {
    pub fn name(self) -> &'static str {
        match self {
            AssetKind::Stylesheet => "stylesheet",
            AssetKind::Script => "script",
            AssetKind::Image => "image",
        }
    }

    /// Whether a `Content-Type` suits this kind of asset.
    pub fn accepts(self, content_type: &str) -> bool {
        let content_type = content_type.to_ascii_lowercase();
        match self {
            AssetKind::Stylesheet => content_type.starts_with("text/css"),
            AssetKind::Script => {
                content_type.contains("javascript") || content_type.contains("ecmascript")
            }
            AssetKind::Image => content_type.starts_with("image/"),
        }
    }
}

/// Elements that never have content or an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements whose end tag may be left out.
const OPTIONAL_END: &[&str] = &[
    "html", "head", "body", "p", "li", "dt", "dd", "rt", "rp", "rb", "rtc", "optgroup", "option",
    "colgroup", "caption", "thead", "tbody", "tfoot", "tr", "td", "th",
];

/// Start tags that end an open `<p>`: a paragraph cannot contain them.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "dialog",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "search",
    "section",
    "table",
    "ul",
];

/// Classes that only Bulma styles.
const BULMA_CLASSES: &[&str] = &[
    "navbar",
    "navbar-burger",
    "columns",
    "column",
    "container",
    "notification",
    "button",
    "box",
    "hero",
    "breadcrumb",
    "card",
    "level",
];

/// Text that a template engine or a script leaves behind when something went wrong, matched as
/// whole words (case-sensitive) in the visible text.
const LEAK_WORDS: &[&str] = &["Template", "tera", "Tera", "undefined", "panicked", "NaN"];

/// The same, as phrases matched anywhere (case-insensitive) in the visible text.
const LEAK_PHRASES: &[&str] = &[
    "error rendering",
    "failed to render",
    "template error",
    "panicked at",
    "[object object]",
];

/// Template syntax, looked for in the visible text and in attribute values. (Closing braces
/// are left out: JSON shown in a page legitimately ends with `}}`.)
const LEAK_SYNTAX: &[&str] = &["{{", "{%", "{#"];

const MAX_PROBLEMS: usize = 8;

#[derive(Debug)]
enum Token<'a> {
    Doctype,
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
        at: usize,
    },
    End {
        name: String,
        at: usize,
    },
    /// Text; `raw` inside `<script>` and `<style>` (not shown to the reader).
    Text {
        text: &'a str,
        at: usize,
        raw: bool,
    },
}

/// Line numbers from byte offsets.
struct Lines(Vec<usize>);

impl Lines {
    fn new(source: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines(starts)
    }

    fn of(&self, offset: usize) -> usize {
        match self.0.binary_search(&offset) {
            Ok(index) => index + 1,
            Err(index) => index,
        }
    }
}

/// Reads a page.
pub fn analyze(source: &str) -> Analysis {
    let lines = Lines::new(source);
    let mut analysis = Analysis::default();
    let mut problems = Vec::new();
    let tokens = tokenize(source, &lines, &mut problems);
    check_structure(&tokens, &lines, &mut problems);
    collect(&tokens, &lines, &mut analysis, &mut problems);
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(format!("… and {more} more HTML problems"));
    }
    analysis.problems = problems;
    analysis
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b':' || b == b'.'
}

/// Splits the source into tokens. Raw-text (`script`, `style`) and escapable raw-text
/// (`title`, `textarea`) elements keep their content as one text token.
fn tokenize<'a>(source: &'a str, lines: &Lines, problems: &mut Vec<String>) -> Vec<Token<'a>> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    let flush = |tokens: &mut Vec<Token<'a>>, from: usize, to: usize| {
        if to > from {
            tokens.push(Token::Text {
                text: &source[from..to],
                at: from,
                raw: false,
            });
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &source[i..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            flush(&mut tokens, text_start, i);
            match comment.find("-->") {
                Some(end) => i += 4 + end + 3,
                None => {
                    problems.push(format!(
                        "line {}: a comment <!-- is never closed",
                        lines.of(i)
                    ));
                    return tokens;
                }
            }
            text_start = i;
        } else if rest.starts_with("<!") || rest.starts_with("<?") {
            flush(&mut tokens, text_start, i);
            let Some(end) = rest.find('>') else {
                problems.push(format!("line {}: a `<!` is never closed", lines.of(i)));
                return tokens;
            };
            if rest[..end].to_ascii_lowercase().starts_with("<!doctype") {
                tokens.push(Token::Doctype);
            }
            i += end + 1;
            text_start = i;
        } else if rest.starts_with("</") && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic) {
            flush(&mut tokens, text_start, i);
            let mut j = i + 2;
            while j < bytes.len() && is_name_char(bytes[j]) {
                j += 1;
            }
            let name = source[i + 2..j].to_ascii_lowercase();
            let Some(end) = source[j..].find('>') else {
                problems.push(format!("line {}: </{name} is never closed", lines.of(i)));
                return tokens;
            };
            tokens.push(Token::End { name, at: i });
            i = j + end + 1;
            text_start = i;
        } else if bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            flush(&mut tokens, text_start, i);
            let Some((token, next)) = start_tag(source, i, lines, problems) else {
                return tokens;
            };
            i = next;
            text_start = i;
            let raw_name = match &token {
                Token::Start {
                    name, self_closing, ..
                } if !self_closing
                    && matches!(name.as_str(), "script" | "style" | "title" | "textarea") =>
                {
                    Some(name.clone())
                }
                _ => None,
            };
            tokens.push(token);
            if let Some(name) = raw_name {
                // The content runs to the first `</name`, whatever it looks like.
                let closing = format!("</{name}");
                let Some(end) = find_ignore_case(&source[i..], &closing) else {
                    problems.push(format!(
                        "line {}: <{name}> is never closed",
                        lines.of(text_start)
                    ));
                    return tokens;
                };
                tokens.push(Token::Text {
                    text: &source[i..i + end],
                    at: i,
                    raw: matches!(name.as_str(), "script" | "style"),
                });
                let close_at = i + end;
                let Some(gt) = source[close_at..].find('>') else {
                    problems.push(format!(
                        "line {}: </{name} is never closed",
                        lines.of(close_at)
                    ));
                    return tokens;
                };
                tokens.push(Token::End { name, at: close_at });
                i = close_at + gt + 1;
                text_start = i;
            }
        } else {
            i += 1;
        }
    }
    flush(&mut tokens, text_start, bytes.len());
    tokens
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Reads the start tag at `at` (`<` then a letter); returns it and the offset after its `>`.
fn start_tag<'a>(
    source: &str,
    at: usize,
    lines: &Lines,
    problems: &mut Vec<String>,
) -> Option<(Token<'a>, usize)> {
    let bytes = source.as_bytes();
    let mut j = at + 1;
    while j < bytes.len() && is_name_char(bytes[j]) {
        j += 1;
    }
    let name = source[at + 1..j].to_ascii_lowercase();
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut self_closing = false;
    let unterminated = |problems: &mut Vec<String>| {
        problems.push(format!(
            "line {}: the tag <{name} is never closed with `>`",
            lines.of(at)
        ));
    };
    loop {
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        match bytes.get(j) {
            None => {
                unterminated(problems);
                return None;
            }
            Some(b'>') => {
                j += 1;
                break;
            }
            Some(b'/') if bytes.get(j + 1) == Some(&b'>') => {
                self_closing = true;
                j += 2;
                break;
            }
            Some(b'/') => {
                j += 1;
                continue;
            }
            Some(b'<') => {
                problems.push(format!(
                    "line {}: `<` inside the tag <{name}> (a missing `>`?)",
                    lines.of(j)
                ));
            }
            Some(_) => {}
        }
        let name_start = j;
        while j < bytes.len()
            && !bytes[j].is_ascii_whitespace()
            && !matches!(bytes[j], b'=' | b'>' | b'/')
        {
            j += 1;
        }
        let attr = source[name_start..j].to_ascii_lowercase();
        if attr.is_empty() {
            // A stray `=`.
            j += 1;
            continue;
        }
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = String::new();
        if bytes.get(j) == Some(&b'=') {
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            match bytes.get(j) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let Some(end) = source[j + 1..].find(quote as char) else {
                        problems.push(format!(
                            "line {}: the value of {attr} in <{name}> has no closing quote",
                            lines.of(j)
                        ));
                        return None;
                    };
                    value = decode_entities(&source[j + 1..j + 1 + end]);
                    j += end + 2;
                }
                Some(_) => {
                    let start = j;
                    while j < bytes.len() && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                        j += 1;
                    }
                    value = decode_entities(&source[start..j]);
                }
                None => {
                    unterminated(problems);
                    return None;
                }
            }
        }
        if attrs.iter().any(|(a, _)| *a == attr) {
            problems.push(format!(
                "line {}: <{name}> has the attribute {attr} twice",
                lines.of(name_start)
            ));
        } else {
            attrs.push((attr, value));
        }
    }
    Some((
        Token::Start {
            name,
            attrs,
            self_closing,
            at,
        },
        j,
    ))
}

/// Decodes the character references that matter in URLs and titles.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

struct Open {
    name: String,
    at: usize,
}

/// Why a `<p>` was closed early, to explain a later stray `</p>`.
struct ClosedEarly {
    opened: usize,
    by: String,
    at: usize,
}

fn check_structure(tokens: &[Token<'_>], lines: &Lines, problems: &mut Vec<String>) {
    let mut stack: Vec<Open> = Vec::new();
    let mut closed_early: Vec<ClosedEarly> = Vec::new();
    let mut first_markup = true;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for token in tokens {
        match token {
            Token::Doctype => {
                if !first_markup {
                    problems.push("<!DOCTYPE html> is not at the start".to_owned());
                }
                *counts.entry("!doctype").or_default() += 1;
                first_markup = false;
            }
            Token::Text { text, .. } => {
                if first_markup && !text.trim().is_empty() {
                    first_markup = false;
                }
            }
            Token::Start {
                name,
                self_closing,
                at,
                ..
            } => {
                first_markup = false;
                let foreign = stack.iter().any(|o| o.name == "svg" || o.name == "math");
                if !foreign && matches!(name.as_str(), "html" | "head" | "body" | "title" | "main")
                {
                    *counts.entry(name.as_str()).or_default() += 1;
                }
                if foreign {
                    if !self_closing {
                        stack.push(Open {
                            name: name.clone(),
                            at: *at,
                        });
                    }
                    continue;
                }
                close_implied(name, *at, &mut stack, &mut closed_early, lines, problems);
                if VOID.contains(&name.as_str()) {
                    continue;
                }
                if *self_closing && name != "svg" && name != "math" {
                    problems.push(format!(
                        "line {}: <{name}/> — only void elements close themselves in HTML; \
                         write <{name}></{name}>",
                        lines.of(*at)
                    ));
                    continue;
                }
                if !self_closing {
                    stack.push(Open {
                        name: name.clone(),
                        at: *at,
                    });
                }
            }
            Token::End { name, at } => {
                first_markup = false;
                if VOID.contains(&name.as_str()) {
                    problems.push(format!(
                        "line {}: </{name}>: <{name}> is a void element and has no end tag",
                        lines.of(*at)
                    ));
                    continue;
                }
                let Some(index) = stack.iter().rposition(|o| o.name == *name) else {
                    let why = closed_early
                        .iter()
                        .rev()
                        .find(|c| name == "p" && c.at < *at)
                        .map(|c| {
                            format!(
                                " (the <p> of line {} was closed by <{}> on line {}: a paragraph \
                                 cannot contain it)",
                                lines.of(c.opened),
                                c.by,
                                lines.of(c.at)
                            )
                        })
                        .unwrap_or_default();
                    problems.push(format!(
                        "line {}: </{name}> closes nothing that is open{why}",
                        lines.of(*at)
                    ));
                    continue;
                };
                for open in &stack[index + 1..] {
                    if !OPTIONAL_END.contains(&open.name.as_str()) {
                        problems.push(format!(
                            "line {}: <{}> is not closed before </{name}> on line {}",
                            lines.of(open.at),
                            open.name,
                            lines.of(*at)
                        ));
                    }
                }
                stack.truncate(index);
            }
        }
    }
    for open in &stack {
        if !OPTIONAL_END.contains(&open.name.as_str()) {
            problems.push(format!(
                "line {}: <{}> is never closed",
                lines.of(open.at),
                open.name
            ));
        }
    }
    if counts.get("!doctype").copied().unwrap_or(0) == 0 {
        problems.push("no <!DOCTYPE html>".to_owned());
    }
    for element in ["html", "head", "body"] {
        match counts.get(element).copied().unwrap_or(0) {
            0 => problems.push(format!("no <{element}> element")),
            1 => {}
            n => problems.push(format!("{n} <{element}> elements")),
        }
    }
    for element in ["title", "main"] {
        let n = counts.get(element).copied().unwrap_or(0);
        if n > 1 {
            problems.push(format!("{n} <{element}> elements"));
        }
    }
}

/// The end tags HTML implies when `name` starts: an open `<p>` before a block, `<li>` before
/// `<li>`, a cell before a cell, and so on.
fn close_implied(
    name: &str,
    at: usize,
    stack: &mut Vec<Open>,
    closed_early: &mut Vec<ClosedEarly>,
    lines: &Lines,
    problems: &mut Vec<String>,
) {
    let top = |stack: &Vec<Open>| stack.last().map(|o| o.name.clone()).unwrap_or_default();
    if CLOSES_P.contains(&name) {
        if top(stack) == "p" {
            let open = stack.pop().expect("a <p>");
            if name != "p" {
                closed_early.push(ClosedEarly {
                    opened: open.at,
                    by: name.to_owned(),
                    at,
                });
            }
        } else if let Some(p) = stack.iter().rposition(|o| o.name == "p") {
            let inside = &stack[p + 1..];
            let scoped = inside.iter().any(|o| {
                matches!(
                    o.name.as_str(),
                    "button" | "table" | "td" | "th" | "caption" | "template" | "object"
                )
            });
            if !scoped {
                problems.push(format!(
                    "line {}: <{name}> inside the <p> of line {} (inside <{}>): a paragraph \
                     cannot contain it",
                    lines.of(at),
                    lines.of(stack[p].at),
                    inside.last().map_or("", |o| o.name.as_str())
                ));
            }
        }
    }
    let pop_while = |stack: &mut Vec<Open>, names: &[&str]| {
        while stack
            .last()
            .is_some_and(|o| names.contains(&o.name.as_str()))
        {
            stack.pop();
        }
    };
    match name {
        "li" => pop_while(stack, &["li", "p"]),
        "dt" | "dd" => pop_while(stack, &["dt", "dd", "p"]),
        "option" => pop_while(stack, &["option"]),
        "optgroup" => pop_while(stack, &["option", "optgroup"]),
        "td" | "th" => pop_while(stack, &["td", "th", "p"]),
        "tr" => pop_while(stack, &["td", "th", "tr", "p"]),
        "thead" | "tbody" | "tfoot" => {
            pop_while(stack, &["td", "th", "tr", "thead", "tbody", "tfoot"]);
        }
        "body" => pop_while(stack, &["head"]),
        _ => {}
    }
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(a, _)| a == name)
        .map(|(_, v)| v.as_str())
}

fn collect(
    tokens: &[Token<'_>],
    lines: &Lines,
    analysis: &mut Analysis,
    problems: &mut Vec<String>,
) {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut in_title = false;
    let mut title = String::new();
    let mut titles = 0;
    // Inside `<svg>` or `<math>`, where `<title>` labels a shape, not the page.
    let mut foreign = 0usize;
    for token in tokens {
        match token {
            Token::Start {
                name,
                attrs,
                at,
                self_closing,
            } => {
                let line = lines.of(*at);
                if (name == "svg" || name == "math") && !self_closing {
                    foreign += 1;
                }
                in_title = name == "title" && foreign == 0;
                if in_title {
                    titles += 1;
                }
                for (attr_name, value) in attrs {
                    if let Some(syntax) = LEAK_SYNTAX.iter().find(|s| value.contains(**s)) {
                        problems.push(format!(
                            "line {line}: template syntax `{syntax}` in the {attr_name} of <{name}>: \
                             {}",
                            excerpt(value, syntax)
                        ));
                    }
                    if analysis.htmx_attribute.is_none()
                        && (attr_name.starts_with("hx-") || attr_name.starts_with("data-hx-"))
                    {
                        analysis.htmx_attribute = Some(attr_name.clone());
                    }
                    if analysis.alpine_attribute.is_none()
                        && (attr_name.starts_with("x-") || attr_name.starts_with('@'))
                    {
                        analysis.alpine_attribute = Some(attr_name.clone());
                    }
                }
                if analysis.bulma_class.is_none()
                    && let Some(class) = attr(attrs, "class").and_then(|classes| {
                        classes
                            .split_ascii_whitespace()
                            .find(|c| BULMA_CLASSES.contains(c))
                    })
                {
                    analysis.bulma_class = Some(class.to_owned());
                }
                if let Some(id) = attr(attrs, "id").filter(|id| !id.is_empty()) {
                    if let Some(first) = ids.get(id) {
                        problems.push(format!(
                            "line {line}: id=\"{id}\" is used twice (first on line {first})"
                        ));
                    } else {
                        ids.insert(id.to_owned(), line);
                    }
                }
                collect_references(name, attrs, analysis);
            }
            Token::End { name, .. } => {
                if name == "title" {
                    in_title = false;
                }
                if name == "svg" || name == "math" {
                    foreign = foreign.saturating_sub(1);
                }
            }
            Token::Text { text, at, raw } => {
                if in_title {
                    title.push_str(text);
                }
                if *raw {
                    continue;
                }
                if let Some(problem) = leaked(text) {
                    problems.push(format!(
                        "line {}: {problem}",
                        lines.of(*at + text.len() - text.trim_start().len())
                    ));
                }
            }
            Token::Doctype => {}
        }
    }
    let title = decode_entities(title.trim());
    if titles == 0 {
        problems.push("no <title>".to_owned());
    } else if title.trim().is_empty() {
        problems.push("the <title> is empty".to_owned());
    }
    analysis.title = (titles > 0).then_some(title);
}

fn collect_references(name: &str, attrs: &[(String, String)], analysis: &mut Analysis) {
    let mut asset = |kind, url: Option<&str>| {
        if let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) {
            let asset = AssetRef {
                kind,
                url: url.to_owned(),
            };
            if !analysis.assets.contains(&asset) {
                analysis.assets.push(asset);
            }
        }
    };
    match name {
        "a" | "area" => {
            if let Some(href) = attr(attrs, "href") {
                analysis.links.push(href.trim().to_owned());
            }
        }
        "form" => {
            let method = attr(attrs, "method").unwrap_or("get");
            if method.eq_ignore_ascii_case("get")
                && let Some(action) = attr(attrs, "action")
            {
                analysis.links.push(action.trim().to_owned());
            }
        }
        "link" => {
            let rel = attr(attrs, "rel").unwrap_or("").to_ascii_lowercase();
            let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
            if rels.contains(&"stylesheet") {
                asset(AssetKind::Stylesheet, attr(attrs, "href"));
            } else if rels.iter().any(|r| r.contains("icon")) {
                asset(AssetKind::Image, attr(attrs, "href"));
            }
        }
        "script" => asset(AssetKind::Script, attr(attrs, "src")),
        "img" => asset(AssetKind::Image, attr(attrs, "src")),
        _ => {}
    }
}

/// Template syntax or error text in a piece of visible text.
fn leaked(text: &str) -> Option<String> {
    if let Some(syntax) = LEAK_SYNTAX.iter().find(|s| text.contains(**s)) {
        return Some(format!(
            "template syntax `{syntax}` in the page: {}",
            excerpt(text, syntax)
        ));
    }
    let lower = text.to_lowercase();
    if let Some(phrase) = LEAK_PHRASES.iter().find(|p| lower.contains(**p)) {
        return Some(format!(
            "error text \"{phrase}\" in the page: {}",
            excerpt(&lower, phrase)
        ));
    }
    for word in LEAK_WORDS {
        let mut from = 0;
        while let Some(found) = text[from..].find(word) {
            let start = from + found;
            let end = start + word.len();
            let boundary_before = text[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_');
            let boundary_after = text[end..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric() && c != '_');
            if boundary_before && boundary_after {
                return Some(format!(
                    "error text \"{word}\" in the page: {}",
                    excerpt(text, word)
                ));
            }
            from = end;
        }
    }
    None
}

/// Up to 60 characters around `needle`, on one line.
fn excerpt(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap_or(0);
    let mut start = at.saturating_sub(25);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + needle.len() + 35).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let snippet: String = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "\"{}{snippet}{}\"",
        if start > 0 { "…" } else { "" },
        if end < text.len() { "…" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>T</title>\
             </head>\n<body>\n{body}\n</body>\n</html>\n"
        )
    }

    fn problems(body: &str) -> Vec<String> {
        analyze(&page(body)).problems
    }

    #[test]
    fn a_clean_page_has_no_problems() {
        let html = page(
            "<nav class=\"navbar\" x-data=\"navbar\"><a href=\"/a?x=1&amp;y=2\">A</a></nav>\
             <p>One<br>two<img src=\"/i.png\" alt=\"\"></p><p>Para\
             <ul><li>one<li>two</ul>\
             <table><tr><td>1<td>2<tr><td>3</table>\
             <script>if (a < b && c > d) { document.write('</div>'); }</script>\
             <textarea name=\"t\"><div></textarea>\
             <svg viewBox=\"0 0 1 1\"><g><title>A bar</title><path d=\"M0 0\"/></g></svg>\
             <!-- a <div> in a comment -->\
             <select><option>a<option>b</select>\
             <form method=\"post\" action=\"/x\"><input type=\"hidden\" name=\"csrf_token\" value=\"t\"></form>",
        );
        let analysis = analyze(&html);
        assert!(analysis.problems.is_empty(), "{:?}", analysis.problems);
        assert_eq!(analysis.title.as_deref(), Some("T"));
        assert_eq!(analysis.links, vec!["/a?x=1&y=2"]);
        assert_eq!(
            analysis.assets,
            vec![AssetRef {
                kind: AssetKind::Image,
                url: "/i.png".into()
            }]
        );
        assert_eq!(analysis.alpine_attribute.as_deref(), Some("x-data"));
        assert_eq!(analysis.bulma_class.as_deref(), Some("navbar"));
        assert_eq!(analysis.htmx_attribute, None);
    }

    #[test]
    fn reports_unclosed_and_stray_tags_with_lines() {
        let found = problems("<div>\n<span>text\n</div>");
        assert!(
            found
                .iter()
                .any(|p| p.contains("<span> is not closed before </div>")),
            "{found:?}"
        );
        let found = problems("<section><div></section>");
        assert!(
            found.iter().any(|p| p.contains("<div> is not closed")),
            "{found:?}"
        );
        let found = problems("</div>");
        assert!(
            found.iter().any(|p| p.contains("</div> closes nothing")),
            "{found:?}"
        );
        let found = problems("<main><div>");
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("line 5: <main> is not closed before </body> on line 6")),
            "{found:?}"
        );
        let found =
            analyze("<!DOCTYPE html><html><head><title>t</title></head><body>\n<main>").problems;
        assert!(
            found.contains(&"line 2: <main> is never closed".to_owned()),
            "{found:?}"
        );
    }

    #[test]
    fn explains_a_paragraph_closed_by_a_block() {
        let found = problems("<p>Text <form method=\"post\"></form></p>");
        assert!(
            found
                .iter()
                .any(|p| p.contains("</p> closes nothing") && p.contains("was closed by <form>")),
            "{found:?}"
        );
    }

    #[test]
    fn reports_broken_tags_and_attributes() {
        let found = problems("<div class=\"a\" class=\"b\"></div><div/>");
        assert!(found.iter().any(|p| p.contains("twice")), "{found:?}");
        assert!(found.iter().any(|p| p.contains("<div/>")), "{found:?}");
        let found = problems("<a href=\"/x>Link</a>");
        assert!(
            found.iter().any(|p| p.contains("no closing quote")),
            "{found:?}"
        );
        let found = problems("<p id=\"x\">a</p><p id=\"x\">b</p>");
        assert!(found.iter().any(|p| p.contains("used twice")), "{found:?}");
    }

    #[test]
    fn requires_the_document_structure_and_a_title() {
        let analysis = analyze("<p>Hello</p>");
        for expected in ["no <!DOCTYPE html>", "no <html>", "no <head>", "no <title>"] {
            assert!(
                analysis.problems.iter().any(|p| p.starts_with(expected)),
                "{expected}: {:?}",
                analysis.problems
            );
        }
        let analysis = analyze(&page("").replace("<title>T</title>", "<title>  </title>"));
        assert!(
            analysis
                .problems
                .contains(&"the <title> is empty".to_owned()),
            "{:?}",
            analysis.problems
        );
    }

    #[test]
    fn finds_leaked_template_text() {
        for (body, expected) in [
            ("<p>Hello {{ user.name }}</p>", "`{{`"),
            ("<p>{% if x %}</p>", "`{%`"),
            ("<a href=\"/u/{{ id }}\">u</a>", "in the href of <a>"),
            ("<p>Error rendering \"page.html\"</p>", "error rendering"),
            ("<p>Template 'x' not found</p>", "\"Template\""),
            ("<p>Balance: undefined</p>", "\"undefined\""),
            ("<p>thread 'main' panicked at src/x.rs</p>", "panicked at"),
        ] {
            let found = problems(body);
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{body}: {found:?}"
            );
        }
        // Words inside other words, scripts and JSON attributes are not leaks.
        let found = problems(
            "<p>Templates, literal, iterate, alterations, undefinedness.</p>\
             <script>let a = undefined; // {{ not a template }}</script>\
             <body-not hx-headers='{\"X-CSRF-Token\": \"t\"}'></body-not>",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn collects_assets_and_library_use() {
        let html = "<!DOCTYPE html><html><head><title>x</title>\
            <link rel=\"stylesheet\" href=\"/static/vendor/bulma/bulma.min.css\">\
            <link rel=\"icon\" href=\"/favicon.png\">\
            <script src=\"/static/vendor/htmx/htmx.min.js\" defer></script>\
            </head><body hx-headers='{}'><form hx-post=\"/x\" action=\"/x\" method=\"post\"></form>\
            <form action=\"/search\"><input name=\"q\"></form></body></html>";
        let analysis = analyze(html);
        assert!(analysis.problems.is_empty(), "{:?}", analysis.problems);
        let kinds: Vec<_> = analysis.assets.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            vec![AssetKind::Stylesheet, AssetKind::Image, AssetKind::Script]
        );
        assert_eq!(analysis.htmx_attribute.as_deref(), Some("hx-headers"));
        assert_eq!(analysis.links, vec!["/search"], "GET forms only");
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            decode_entities("a&amp;b&#39;c&#x41;&bogus;&"),
            "a&b'cA&bogus;&"
        );
        assert_eq!(decode_entities("Café"), "Café");
    }

    #[test]
    fn content_types_per_kind() {
        assert!(AssetKind::Stylesheet.accepts("text/css; charset=utf-8"));
        assert!(AssetKind::Script.accepts("text/javascript"));
        assert!(AssetKind::Script.accepts("application/javascript"));
        assert!(!AssetKind::Script.accepts("text/html"));
        assert!(AssetKind::Image.accepts("image/svg+xml"));
        assert!(!AssetKind::Image.accepts("application/octet-stream"));
    }
}
