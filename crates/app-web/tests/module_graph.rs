//! app-web's modules import in one direction: routes → extractors and middleware → state →
//! config, and the error type is a leaf. This reads the crate's `src/`, builds the graph of
//! `crate::` (and `super::`) references between its top-level modules, and fails on a cycle,
//! naming it with the file and line of each reference. It also keeps module names unique.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A reference from one top-level module to another, and where it is written.
#[derive(Clone, Debug)]
struct Edge {
    from: String,
    to: String,
    at: String,
}

#[test]
fn app_web_modules_import_each_other_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    let modules: BTreeSet<&str> = graph.iter().flat_map(|e| [&*e.from, &*e.to]).collect();
    assert!(
        modules.len() > 10 && graph.len() > 30,
        "the graph of src/ looks empty: {modules:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "app-web's modules import each other in a circle (routes → extractors and \
             middleware → state → config, never back; the error type is a leaf):\n{cycle}"
        );
    }
    // The error type is a leaf.
    let from_error: Vec<&Edge> = graph.iter().filter(|e| e.from == "error").collect();
    assert!(from_error.is_empty(), "error imports {from_error:?}");
}

/// One name, one module: `api.rs` beside `routes/api.rs` made readers open the wrong one.
#[test]
fn no_module_name_repeats_at_two_levels() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut by_name: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_path(&src, file);
        // A file of tests beside its module (`config/tests.rs`) is the one name that repeats.
        if let Some(name) = module.last().filter(|name| *name != "tests") {
            by_name
                .entry(name.clone())
                .or_default()
                .insert(module.join("::"));
        }
    }
    let repeated: Vec<_> = by_name.values().filter(|paths| paths.len() > 1).collect();
    assert!(
        repeated.is_empty(),
        "modules that share a name: {repeated:?}"
    );
    assert!(by_name.contains_key("routes") && by_name.contains_key("api"));
}

#[test]
fn a_cycle_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    write(src, "lib.rs", "mod a;\nmod b;\nmod c;\npub use a::A;\n");
    write(
        src,
        "a.rs",
        "use crate::b::B;\n// crate::c in a comment is no reference\n",
    );
    write(
        src,
        "b/mod.rs",
        "mod inner;\nconst TEXT: &str = \"crate::a\";\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::a;\n}\n",
    );
    write(src, "b/inner.rs", "use super::super::c::C;\n");
    write(
        src,
        "c.rs",
        "use crate::{\n    a::A,\n    b,\n};\nfn lifetime<'a>(x: &'a str) -> char { '{' }\n",
    );
    let graph = module_graph(src);
    let edges: BTreeSet<(String, String)> = graph
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let expected: BTreeSet<(String, String)> =
        [("a", "b"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b")]
            .into_iter()
            .map(|(f, t)| (f.to_owned(), t.to_owned()))
            .collect();
    assert_eq!(edges, expected);
    let cycle = find_cycle(&graph).expect("a cycle");
    assert!(cycle.contains("a → b"), "{cycle}");
    assert!(cycle.contains("b → a  (b/mod.rs:6)"), "{cycle}");

    // Without the way back to `a`, there is none.
    write(src, "b/mod.rs", "mod inner;\n");
    write(src, "c.rs", "pub struct C;\n");
    assert!(find_cycle(&module_graph(src)).is_none());
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every reference between two top-level modules of the crate whose sources are in `src`.
fn module_graph(src: &Path) -> Vec<Edge> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut edges = Vec::new();
    for file in files {
        let module = module_path(src, &file);
        let Some(top) = module.first().cloned() else {
            continue; // The crate root only declares and re-exports.
        };
        let code = strip_comments_and_literals(&std::fs::read_to_string(&file).unwrap());
        let shown = file.strip_prefix(src).unwrap().display().to_string();
        for (target, line) in references(&code, &module) {
            if target != top {
                edges.push(Edge {
                    from: top.clone(),
                    to: target,
                    at: format!("{shown}:{line}"),
                });
            }
        }
    }
    edges
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `src/a/b.rs` is `a::b`, `src/a/mod.rs` is `a`, `src/lib.rs` is the root.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code with comments, strings and character literals blanked out (lines kept).
fn strip_comments_and_literals(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            // A raw string: r"..." or r#"..."#.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let closing: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let start = i + 2 + hashes;
            let rest: String = chars[start..].iter().collect();
            let end = rest.find(&closing).map_or(chars.len(), |at| {
                start + rest[..at].chars().count() + closing.len()
            });
            for &skipped in &chars[i..end] {
                out.push(blank(skipped));
            }
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // An escaped character literal: '\n', '\u{7f}'.
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(' ');
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Path,
    Open,
    Close,
    Other,
}

fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            tokens.push((Token::Word(chars[start..i].iter().collect()), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push((Token::Path, line));
            i += 2;
        } else {
            tokens.push((
                match c {
                    '{' => Token::Open,
                    '}' => Token::Close,
                    _ => Token::Other,
                },
                line,
            ));
            i += 1;
        }
    }
    tokens
}

/// The top-level modules that `crate::` and `super::` paths in `code` (the file of `module`)
/// name, with their lines. Inline modules (`mod tests { use super::*; }`) count for `super`.
fn references(code: &str, module: &[String]) -> Vec<(String, usize)> {
    let tokens = tokens(code);
    let word = |i: usize| match tokens.get(i) {
        Some((Token::Word(w), _)) => Some(w.as_str()),
        _ => None,
    };
    let is = |i: usize, token: Token| tokens.get(i).is_some_and(|(t, _)| *t == token);
    let mut found = Vec::new();
    // The inline modules we are in, with the brace depth each opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Token::Open => depth += 1,
            Token::Close => {
                depth -= 1;
                if inline.last().is_some_and(|(_, at)| *at == depth) {
                    inline.pop();
                }
            }
            Token::Word(w) if w == "mod" && is(i + 2, Token::Open) => {
                if let Some(name) = word(i + 1) {
                    inline.push((name.to_owned(), depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Token::Word(w) if (w == "crate" || w == "super") && is(i + 1, Token::Path) => {
                // The previous token must not be a path separator (`a::crate` is no path start).
                if i > 0 && is(i - 1, Token::Path) {
                    i += 1;
                    continue;
                }
                let line = tokens[i].1;
                let mut base: Vec<String> = module.to_vec();
                base.extend(inline.iter().map(|(n, _)| n.clone()));
                let mut j = i;
                if w == "crate" {
                    base.clear();
                    j += 2;
                } else {
                    while word(j) == Some("super") && is(j + 1, Token::Path) {
                        base.pop();
                        j += 2;
                    }
                }
                let names: Vec<String> = if is(j, Token::Open) {
                    group_heads(&tokens, j)
                } else {
                    word(j).map(str::to_owned).into_iter().collect()
                };
                for name in names {
                    let top = base.first().cloned().unwrap_or(name);
                    if top != "self" {
                        found.push((top, line));
                    }
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The first name of each path in the `{...}` group that starts at `open`.
fn group_heads(tokens: &[(Token, usize)], open: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expecting = true;
    for (token, _) in &tokens[open..] {
        match token {
            Token::Open => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            Token::Close => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Word(w) if depth == 1 && expecting => {
                heads.push(w.clone());
                expecting = false;
            }
            Token::Other if depth == 1 => expecting = true,
            _ => {}
        }
    }
    heads
}

/// A cycle, if the graph has one, each step with where it is written.
fn find_cycle(edges: &[Edge]) -> Option<String> {
    let mut next: BTreeMap<&str, BTreeMap<&str, &Edge>> = BTreeMap::new();
    for edge in edges {
        next.entry(&edge.from)
            .or_default()
            .entry(&edge.to)
            .or_insert(edge);
    }
    // Depth-first, keeping the path: a module met again on the path closes a cycle.
    fn visit<'a>(
        module: &'a str,
        next: &BTreeMap<&'a str, BTreeMap<&'a str, &'a Edge>>,
        path: &mut Vec<&'a Edge>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a Edge>> {
        for (&to, &edge) in next.get(module).into_iter().flatten() {
            if let Some(start) = path.iter().position(|e| e.from == to) {
                let mut cycle = path[start..].to_vec();
                cycle.push(edge);
                return Some(cycle);
            }
            if to == module || done.contains(to) {
                continue;
            }
            path.push(edge);
            if let Some(cycle) = visit(to, next, path, done) {
                return Some(cycle);
            }
            path.pop();
        }
        done.insert(module);
        None
    }
    let mut done = BTreeSet::new();
    for &start in next.keys() {
        if done.contains(start) {
            continue;
        }
        if let Some(cycle) = visit(start, &next, &mut Vec::new(), &mut done) {
            let mut text = String::new();
            for edge in cycle {
                let _ = writeln!(text, "  {} → {}  ({})", edge.from, edge.to, edge.at);
            }
            return Some(text);
        }
    }
    None
}
