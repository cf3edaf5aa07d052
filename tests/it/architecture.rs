//! Two rules of ARCHITECTURE.md checked on the crate's own `src/`, so they cannot quietly rot:
//!
//! - no import circle between the library's top-level modules (`src/X.rs` or `src/X/...` is
//!   module X; `lib.rs` and `main.rs` are the root, not a module). X uses Y when a file of X
//!   that is compiled outside tests names a `crate::Y` path, grouped `use crate::{..}` included
//!   (or reaches the root with `super::super::` and names Y from there, or names something
//!   `lib.rs` brings in from Y with `use`). Comments, string
//!   literals, `#[cfg(test)]` items and test-only files (`tests.rs`, `*_tests.rs`, anything
//!   under a `tests/` folder, a module declared `#[cfg(test)] mod name;`) are not looked at.
//! - no file in `src/` over 600 lines unless ARCHITECTURE.md's `## Size` section names it; a
//!   name there for a file that is gone or back under 600 lines fails too.
//!
//! std only: a small lexer (comments, strings, chars and lifetimes, raw strings), a token walk
//! and Tarjan's strongly connected components. The checker's own cases come first.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// Files over this many lines need a reason in ARCHITECTURE.md's `## Size` section.
const MAX_LINES: usize = 600;

// ---------------------------------------------------------------------------------------------
// The lexer: just enough of Rust's to never mistake a comment, a string or a char for a path.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    Str(String),
    /// Numbers, lifetimes, chars: present, never part of a path.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = line;
            let (s, next) = string(&chars, i + 1, &mut line);
            out.push(Token {
                tok: Tok::Str(s),
                line: start,
            });
            i = next;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a, 'static).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
            }
            out.push(Token {
                tok: Tok::Other,
                line,
            });
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(i) == '"' || (at(i) == '#' && matches!(at(i + 1), '"' | '#'))) {
                // r"..", r#".."#, br##".."##: no escapes, ends at `"` and as many `#`.
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                i += 1;
                let start_line = line;
                let content_start = i;
                loop {
                    if i >= chars.len() {
                        break;
                    }
                    if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        break;
                    }
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                let s: String = chars[content_start..i.min(chars.len())].iter().collect();
                i += 1 + hashes;
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
            } else if word == "r" && at(i) == '#' && is_ident_start(at(i + 1)) {
                // A raw identifier: r#type.
                let start = i + 1;
                i += 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Ident(chars[start..i].iter().collect()),
                    line,
                });
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                let start_line = line;
                let (s, next) = string(&chars, i + 1, &mut line);
                out.push(Token {
                    tok: Tok::Str(s),
                    line: start_line,
                });
                i = next;
            } else if word == "b" && at(i) == '\'' {
                // A byte literal: b'x', b'\n'.
                i += 1;
                if at(i + 1) == '\\' || at(i) == '\\' {
                    i += 1;
                }
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(Token {
                    tok: Tok::Other,
                    line,
                });
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Other,
                line,
            });
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A string's content from just after its opening quote; returns it and the index after the
/// closing quote.
fn string(chars: &[char], mut i: usize, line: &mut usize) -> (String, usize) {
    let mut s = String::new();
    while i < chars.len() && chars[i] != '"' {
        if chars[i] == '\\' {
            i += 1;
        }
        if let Some(&c) = chars.get(i) {
            if c == '\n' {
                *line += 1;
            }
            s.push(c);
        }
        i += 1;
    }
    (s, i + 1)
}

// ---------------------------------------------------------------------------------------------
// One file: the crate-root names it uses, and the modules it declares for tests only.

#[derive(Debug, Default)]
struct FileScan {
    /// `crate::NAME` (or a `super::` chain up to the root, then NAME), with its line.
    uses: Vec<(String, usize)>,
    /// The `super::` chains that reached the crate root: `(NAME, line)`.
    supers: Vec<(String, usize)>,
    /// `#[cfg(test)] mod NAME;` with its `#[path = ".."]`, if any.
    test_modules: Vec<(String, Option<String>)>,
    /// The file starts with `#![cfg(test)]`.
    test_only: bool,
}

fn is(t: &[Token], i: usize, want: &Tok) -> bool {
    t.get(i).is_some_and(|x| &x.tok == want)
}

fn punct(t: &[Token], i: usize, c: char) -> bool {
    is(t, i, &Tok::Punct(c))
}

fn ident(t: &[Token], i: usize) -> Option<&str> {
    match t.get(i).map(|x| &x.tok) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// The index after the bracket that closes the one at `open`.
fn after_closing(t: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    let mut i = open;
    while i < t.len() {
        match t[i].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    t.len()
}

/// The index after the annotated thing starting at `i`. An item (`fn`, `mod`, `use`, `impl`,
/// `let`...) ends at a `;` outside brackets or after its `{..}` body (and the `;` that may follow,
/// as in `use a::{b, c};`); anything else (a field, a match arm, an expression) at a `,` or
/// before the bracket that closes around it.
fn after_item(t: &[Token], mut i: usize) -> usize {
    const ITEMS: &[&str] = &[
        "fn",
        "mod",
        "use",
        "impl",
        "struct",
        "enum",
        "union",
        "trait",
        "const",
        "static",
        "type",
        "extern",
        "unsafe",
        "async",
        "macro_rules",
        "let",
    ];
    let mut k = i;
    if ident(t, k) == Some("pub") {
        k += 1;
        if punct(t, k, '(') {
            k = after_closing(t, k);
        }
    }
    let item = ident(t, k).is_some_and(|w| ITEMS.contains(&w));
    while i < t.len() {
        match t[i].tok {
            Tok::Punct(';') => return i + 1,
            Tok::Punct(',') if !item => return i + 1,
            Tok::Punct(')' | ']' | '}') if !item => return i,
            Tok::Punct('{') if item => {
                let next = after_closing(t, i);
                return if punct(t, next, ';') { next + 1 } else { next };
            }
            Tok::Punct('(' | '[' | '{') => i = after_closing(t, i),
            _ => i += 1,
        }
    }
    t.len()
}

/// Whether the tokens of a `cfg(..)` predicate (between its parentheses) hold only in tests:
/// `test`, or `all(..)` with `test` among its parts.
fn test_only_predicate(p: &[Token]) -> bool {
    match p {
        [
            Token {
                tok: Tok::Ident(t), ..
            },
        ] => t == "test",
        [first, rest @ ..] if first.tok == Tok::Ident("all".into()) => {
            // all( ... ): split the parts at top-level commas.
            let inner = match rest {
                [open, mid @ .., close]
                    if open.tok == Tok::Punct('(') && close.tok == Tok::Punct(')') =>
                {
                    mid
                }
                _ => return false,
            };
            let mut depth = 0usize;
            let mut start = 0;
            for (k, tok) in inner.iter().enumerate() {
                match tok.tok {
                    Tok::Punct('(') => depth += 1,
                    Tok::Punct(')') => depth = depth.saturating_sub(1),
                    Tok::Punct(',') if depth == 0 => {
                        if test_only_predicate(&inner[start..k]) {
                            return true;
                        }
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            test_only_predicate(&inner[start..])
        }
        _ => false,
    }
}

/// An attribute `#[..]` or `#![..]` at `i`: (index after it, is it a test-only cfg, its
/// `path = ".."` value).
fn attribute(t: &[Token], i: usize) -> Option<(usize, bool, Option<String>)> {
    if !punct(t, i, '#') {
        return None;
    }
    let open = if punct(t, i + 1, '!') { i + 2 } else { i + 1 };
    if !punct(t, open, '[') {
        return None;
    }
    let end = after_closing(t, open);
    let body = &t[open + 1..end.saturating_sub(1).max(open + 1)];
    let test = matches!(body, [name, paren, .., close]
        if name.tok == Tok::Ident("cfg".into())
            && paren.tok == Tok::Punct('(')
            && close.tok == Tok::Punct(')'))
        && test_only_predicate(&body[2..body.len() - 1]);
    let path = match body {
        [name, eq, value] if name.tok == Tok::Ident("path".into()) && eq.tok == Tok::Punct('=') => {
            match &value.tok {
                Tok::Str(s) => Some(s.clone()),
                _ => None,
            }
        }
        _ => None,
    };
    Some((end, test, path))
}

/// The first segments of the paths in the group `{..}` at `open`: `{a::b, Y, c::{d, e}}` gives
/// a, Y, c; a nested bare group `{{a, b}}` gives a, b; `self` and `*` give nothing.
fn group_heads(t: &[Token], open: usize, out: &mut Vec<(String, usize)>) {
    let end = after_closing(t, open);
    let mut i = open + 1;
    let mut item_start = true;
    while i + 1 < end {
        if item_start {
            if punct(t, i, '{') {
                group_heads(t, i, out);
            } else if let Some(name) = ident(t, i)
                && name != "self"
            {
                out.push((name.to_owned(), t[i].line));
            }
            item_start = false;
        }
        match t[i].tok {
            Tok::Punct('{' | '(' | '[') => i = after_closing(t, i),
            Tok::Punct(',') => {
                item_start = true;
                i += 1;
            }
            _ => i += 1,
        }
    }
}

/// What follows a path's crate root at `i` (`crate::` or enough `super::`): the names it uses.
fn root_names(t: &[Token], i: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    if punct(t, i, '{') {
        group_heads(t, i, &mut out);
    } else if let Some(name) = ident(t, i)
        && name != "self"
        && name != "super"
    {
        out.push((name.to_owned(), t[i].line));
    }
    out
}

/// Scans one file whose module is `depth` levels below the crate root (`src/a.rs`: 1,
/// `src/a/b.rs`: 2).
fn scan(text: &str, depth: usize) -> FileScan {
    let t = lex(text);
    let mut scan = FileScan::default();
    // Inline `mod name { .. }` blocks open at these brace depths.
    let mut inline_mods: Vec<usize> = Vec::new();
    let mut braces = 0usize;
    let mut i = 0;
    let mut first_item = true;
    while i < t.len() {
        if let Some((after, test, path)) = attribute(&t, i) {
            let inner = punct(&t, i + 1, '!');
            if inner {
                if test && first_item {
                    scan.test_only = true;
                    return scan;
                }
                // `#![allow(..)]`, `#![doc = ..]`: not items, so `#![cfg(test)]` may follow.
                i = after;
                continue;
            }
            // Gather every attribute of the item.
            let (mut end, mut any_test, mut path) = (after, test, path);
            while let Some((a, test, p)) = attribute(&t, end) {
                any_test |= test;
                path = path.or(p);
                end = a;
            }
            if any_test {
                // `[pub[(..)]] mod NAME;` declares a test-only file.
                let mut k = end;
                if ident(&t, k) == Some("pub") {
                    k += 1;
                    if punct(&t, k, '(') {
                        k = after_closing(&t, k);
                    }
                }
                if ident(&t, k) == Some("mod")
                    && punct(&t, k + 2, ';')
                    && let Some(name) = ident(&t, k + 1)
                {
                    scan.test_modules.push((name.to_owned(), path));
                }
                i = after_item(&t, end);
                continue;
            }
            // Any other attribute is code too (`#[arg(value_parser = crate::input::f)]`):
            // walk into it.
            i += 1;
            continue;
        }
        first_item = false;
        match &t[i].tok {
            Tok::Punct('{') => {
                braces += 1;
                if i >= 2 && ident(&t, i - 2) == Some("mod") && ident(&t, i - 1).is_some() {
                    inline_mods.push(braces);
                }
            }
            Tok::Punct('}') => {
                if inline_mods.last() == Some(&braces) {
                    inline_mods.pop();
                }
                braces = braces.saturating_sub(1);
            }
            Tok::Ident(w) if w == "crate" && is(&t, i + 1, &Tok::PathSep) => {
                scan.uses.extend(root_names(&t, i + 2));
            }
            Tok::Ident(w) if w == "super" && !is(&t, i.wrapping_sub(1), &Tok::PathSep) => {
                let mut ups = 0;
                let mut k = i;
                while ident(&t, k) == Some("super") && is(&t, k + 1, &Tok::PathSep) {
                    ups += 1;
                    k += 2;
                }
                if ups > 0 && ups >= depth + inline_mods.len() {
                    let names = root_names(&t, k);
                    scan.supers.extend(names.iter().cloned());
                    scan.uses.extend(names);
                }
                i = k.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

// ---------------------------------------------------------------------------------------------
// The crate: which files belong to which module, and the graph between modules.

/// A place in the source: `src/config/mod.rs:12`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    file: String,
    line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Default)]
struct Graph {
    modules: BTreeSet<String>,
    /// from → to → every place `from` names `crate::to`.
    edges: BTreeMap<String, BTreeMap<String, Vec<Place>>>,
    /// `super::` chains that reach the crate root: they are edges too, but say `crate::`.
    supers: Vec<(Place, String)>,
}

/// `files`: (path relative to the repository, e.g. `src/config/mod.rs`, text).
fn graph(files: &[(String, String)]) -> Graph {
    let mut files: Vec<&(String, String)> = files.iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let module_of = |path: &str| -> Option<String> {
        let rest = path.strip_prefix("src/")?;
        if rest == "lib.rs" || rest == "main.rs" {
            return None;
        }
        let first = rest.split('/').next()?;
        Some(first.strip_suffix(".rs").unwrap_or(first).to_owned())
    };
    let mut g = Graph::default();
    for (path, _) in &files {
        if let Some(m) = module_of(path) {
            g.modules.insert(m);
        }
    }
    let root_aliases = files
        .iter()
        .find(|(p, _)| p == "src/lib.rs")
        .map(|(_, text)| root_uses(text))
        .unwrap_or_default();
    // Test-only files and folders: by name, and by `#[cfg(test)] mod name;` declarations.
    let mut test_files: BTreeSet<String> = BTreeSet::new();
    let mut test_dirs: BTreeSet<String> = BTreeSet::new();
    let mut scans = Vec::new();
    for (path, text) in &files {
        let rel = path.strip_prefix("src/").unwrap_or(path);
        let depth = module_depth(rel);
        let s = scan(text, depth);
        let dir = parent(path);
        let own_dir = if path.ends_with("/mod.rs") || rel == "lib.rs" || rel == "main.rs" {
            dir.clone()
        } else {
            format!("{}/", path.trim_end_matches(".rs"))
        };
        for (name, at) in &s.test_modules {
            match at {
                Some(p) => {
                    test_files.insert(normalize(&format!("{dir}{p}")));
                }
                None => {
                    test_files.insert(format!("{own_dir}{name}.rs"));
                    test_dirs.insert(format!("{own_dir}{name}/"));
                }
            }
        }
        if s.test_only {
            test_files.insert((*path).clone());
        }
        scans.push((path, s));
    }
    let by_name = |path: &str| {
        let file = path.rsplit('/').next().unwrap_or(path);
        file == "tests.rs"
            || file.ends_with("_tests.rs")
            || path
                .strip_prefix("src/")
                .is_some_and(|r| r.split('/').rev().skip(1).any(|d| d == "tests"))
    };
    // A test-only file's own folder (`a/testing.rs` → `a/testing/`) is test-only too.
    for f in test_files.clone() {
        test_dirs.insert(format!(
            "{}/",
            f.trim_end_matches("/mod.rs").trim_end_matches(".rs")
        ));
    }
    let is_test = |path: &str| {
        by_name(path)
            || test_files.contains(path)
            || test_dirs.iter().any(|d| path.starts_with(d.as_str()))
    };
    for (path, s) in scans {
        let Some(from) = module_of(path) else {
            continue;
        };
        if is_test(path) {
            continue;
        }
        for (name, line) in s.uses {
            // `crate::Name` where the root re-exports Name (`use config::Name;` in lib.rs) is
            // a use of the module it comes from.
            let name = match root_aliases.get(&name) {
                Some(module) if !g.modules.contains(&name) => module.clone(),
                _ => name,
            };
            if name != from && g.modules.contains(&name) {
                g.edges
                    .entry(from.clone())
                    .or_default()
                    .entry(name)
                    .or_default()
                    .push(Place {
                        file: (*path).clone(),
                        line,
                    });
            }
        }
        for (name, line) in s.supers {
            g.supers.push((
                Place {
                    file: (*path).clone(),
                    line,
                },
                name,
            ));
        }
    }
    g
}

/// The names the crate root brings in with `use` (public or not, every module below sees
/// them as `crate::Name`), each with the top-level module its path starts at:
/// `use printer::{Printer, Verbosity as V};` gives Printer → printer, V → printer.
fn root_uses(lib: &str) -> BTreeMap<String, String> {
    let t = lex(lib);
    let mut out = BTreeMap::new();
    let mut i = 0;
    while i < t.len() {
        if let Some((after, test, _)) = attribute(&t, i) {
            i = if test { after_item(&t, after) } else { after };
            continue;
        }
        match t[i].tok {
            // Bodies of functions, impls and inline modules are not the root's namespace.
            Tok::Punct('{') => i = after_closing(&t, i),
            Tok::Ident(ref w) if w == "use" => {
                let mut leaves = Vec::new();
                i = use_tree(&t, i + 1, None, None, &mut leaves);
                for (leaf, head) in leaves {
                    out.insert(leaf, head);
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// One use tree at `i` (`a::b::{c, d::e as f, self}`): pushes (the name it binds, the first
/// segment of its path); returns the index after it.
fn use_tree(
    t: &[Token],
    mut i: usize,
    mut head: Option<String>,
    mut last: Option<String>,
    out: &mut Vec<(String, String)>,
) -> usize {
    if is(t, i, &Tok::PathSep) {
        i += 1;
    }
    loop {
        if punct(t, i, '{') {
            let end = after_closing(t, i);
            let mut k = i + 1;
            while k + 1 < end {
                k = use_tree(t, k, head.clone(), last.clone(), out);
                while k + 1 < end && !punct(t, k, ',') {
                    k += 1;
                }
                k += 1;
            }
            return end;
        }
        let Some(name) = ident(t, i) else {
            return i;
        };
        let name = name.to_owned();
        i += 1;
        if name == "self" {
            // `a::{self}` binds a.
        } else if name == "crate" && head.is_none() {
            // `use crate::a::B;` in the root is `use a::B;`.
        } else {
            head.get_or_insert_with(|| name.clone());
            last = Some(name);
        }
        if is(t, i, &Tok::PathSep) {
            i += 1;
            continue;
        }
        let bound = if ident(t, i) == Some("as") {
            i += 2;
            ident(t, i - 1).map(str::to_owned)
        } else {
            last
        };
        if let (Some(bound), Some(head)) = (bound, head)
            && bound != "_"
        {
            out.push((bound, head));
        }
        return i;
    }
}

/// `a.rs` → 1, `a/mod.rs` → 1, `a/b.rs` → 2, `a/b/mod.rs` → 2.
fn module_depth(rel: &str) -> usize {
    let parts = rel.split('/').count();
    if rel.ends_with("/mod.rs") {
        parts - 1
    } else {
        parts
    }
}

/// `src/a/b.rs` → `src/a/`.
fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(k) => path[..=k].to_owned(),
        None => String::new(),
    }
}

/// Resolves `.` and `..` in a `/`-separated path.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Tarjan's strongly connected components with more than one module, each sorted, in order
/// of their first module.
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(out) = s.g.edges.get(v) {
            for w in out.keys() {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for m in &g.modules {
        if !s.index.contains_key(m.as_str()) {
            visit(&mut s, m);
        }
    }
    s.out.sort();
    s.out
}

/// A shortest way round the circle from its first module, through its modules only.
fn shortest_round(g: &Graph, circle: &[String]) -> Vec<String> {
    let inside: BTreeSet<&str> = circle.iter().map(String::as_str).collect();
    let start = circle[0].as_str();
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in g.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if w == start {
                let mut path = vec![v];
                let mut at = v;
                while at != start {
                    at = came_from[at];
                    path.push(at);
                }
                path.reverse();
                path.push(start);
                return path.into_iter().map(str::to_owned).collect();
            }
            if inside.contains(w) && !came_from.contains_key(w) && w != start {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    Vec::new()
}

/// The failure text for the circles and the root-reaching `super::` chains; empty when there
/// are none.
fn circle_report(g: &Graph) -> String {
    let mut out = String::new();
    for (place, name) in &g.supers {
        out.push_str(&format!(
            "{place}: a `super::` chain climbs to the crate root and names `{name}`: write `crate::{name}` (only `crate::` paths cross between top-level modules)\n"
        ));
    }
    let found = circles(g);
    if found.is_empty() {
        return out;
    }
    let count = found.len();
    out.push_str(&format!(
        "{count} import circle{} between the top-level modules of src/ (X uses Y when a non-test file of X names `crate::Y`)\n",
        if count == 1 { "" } else { "s" }
    ));
    for (n, circle) in found.iter().enumerate() {
        let inside: BTreeSet<&String> = circle.iter().collect();
        let edges: Vec<(&String, &String, &Vec<Place>)> = circle
            .iter()
            .flat_map(|from| {
                g.edges
                    .get(from)
                    .into_iter()
                    .flat_map(move |e| e.iter().map(move |(to, at)| (from, to, at)))
            })
            .filter(|(_, to, _)| inside.contains(to))
            .collect();
        out.push_str(&format!(
            "\ncircle {} of {count}: {} modules: {}\n  a shortest way round: {}\n  its {} uses, each with its first place (and how many places in all):\n",
            n + 1,
            circle.len(),
            circle.join(", "),
            shortest_round(g, circle).join(" → "),
            edges.len()
        ));
        let width = edges
            .iter()
            .map(|(f, t, _)| f.len() + t.len())
            .max()
            .unwrap_or(0);
        for (from, to, at) in edges {
            let pad = width - from.len() - to.len();
            let places = if at.len() == 1 {
                String::new()
            } else {
                format!(" ({} places)", at.len())
            };
            out.push_str(&format!(
                "    {from} → {to}{:pad$}  {}{places}\n",
                "", at[0]
            ));
        }
    }
    out.push_str(
        "\nto cut a circle, remove every use in one direction between two of its parts: move what one \
         side needs into the module that owns its meaning, or into a leaf module that uses nothing of \
         shipit (as src/text.rs, src/random.rs and src/suggest.rs are); the uses with fewest places \
         are the cheapest cuts. Then run `cargo test --test it architecture`\n",
    );
    out
}

// ---------------------------------------------------------------------------------------------
// File sizes against ARCHITECTURE.md's `## Size` section.

/// The `## Size` section of ARCHITECTURE.md (up to the next `## ` heading), if there is one.
fn size_section(architecture: &str) -> Option<String> {
    let mut lines = architecture.lines();
    lines.find(|l| l.trim_end() == "## Size")?;
    Some(
        lines
            .take_while(|l| !l.starts_with("## "))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Every `src/...rs` path the text names.
fn named_files(section: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = section;
    while let Some(k) = rest.find("src/") {
        let preceded = rest[..k]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '/');
        let tail = &rest[k..];
        let len = tail
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-')))
            .unwrap_or(tail.len());
        let path = tail[..len].trim_end_matches('.');
        if !preceded && path.ends_with(".rs") {
            out.insert(path.to_owned());
        }
        rest = &tail[len.max(4)..];
    }
    out
}

/// `files`: (path relative to the repository, its line count).
fn size_report(files: &[(String, usize)], architecture: &str) -> String {
    let Some(section) = size_section(architecture) else {
        return "ARCHITECTURE.md has no `## Size` section: add one that names every file in src/ over 600 lines, each with why it is one file\n".to_owned();
    };
    let named = named_files(&section);
    let lines: BTreeMap<&str, usize> = files.iter().map(|(p, n)| (p.as_str(), *n)).collect();
    let mut out = String::new();
    for (path, n) in &lines {
        if *n > MAX_LINES && !named.contains(*path) {
            out.push_str(&format!(
                "{path} has {n} lines, over {MAX_LINES}: split it (one file per concern; unit tests can move to a `#[cfg(test)] #[path = \"..._tests.rs\"] mod tests;` beside it), or add a line under `## Size` in ARCHITECTURE.md naming `{path}` and saying why it is one file\n"
            ));
        }
    }
    for path in &named {
        match lines.get(path.as_str()) {
            None => out.push_str(&format!(
                "ARCHITECTURE.md's `## Size` names {path}, which does not exist: remove it, or name the file it became\n"
            )),
            Some(n) if *n <= MAX_LINES => out.push_str(&format!(
                "ARCHITECTURE.md's `## Size` names {path}, which has {n} lines, not over {MAX_LINES}: remove it from the list\n"
            )),
            Some(_) => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The real crate.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/`: (path relative to the repository, text).
fn source_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = root();
    let mut paths = Vec::new();
    walk(&root.join("src"), &mut paths);
    let mut files: Vec<(String, String)> = paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .expect("under the crate")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            (rel, text)
        })
        .collect();
    files.sort();
    assert!(
        files.iter().any(|(p, _)| p == "src/lib.rs"),
        "no src/lib.rs under {}",
        root.display()
    );
    files
}

#[test]
fn no_import_circle_between_modules() {
    let files = source_files();
    let g = graph(&files);
    // The walk saw the crate: a checker that reads nothing would pass every time.
    assert!(
        g.modules.len() > 10 && g.edges.values().map(BTreeMap::len).sum::<usize>() > 10,
        "the checker found {} modules and too few uses in src/: it is broken",
        g.modules.len()
    );
    let report = circle_report(&g);
    assert!(report.is_empty(), "{report}");
}

#[test]
fn no_long_file_without_a_reason() {
    let files: Vec<(String, usize)> = source_files()
        .into_iter()
        .map(|(p, text)| (p, text.lines().count()))
        .collect();
    let architecture = std::fs::read_to_string(root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository's root");
    let report = size_report(&files, &architecture);
    assert!(report.is_empty(), "{report}");
}

// ---------------------------------------------------------------------------------------------
// The checker's own cases, on small in-memory crates.

fn crate_of(files: &[(&str, &str)]) -> Graph {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    graph(&files)
}

fn uses(g: &Graph, from: &str) -> Vec<String> {
    g.edges
        .get(from)
        .map(|e| e.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn a_three_module_circle_is_found_with_a_place_for_each_use() {
    let g = crate_of(&[
        (
            "src/lib.rs",
            "pub mod a;\npub mod b;\npub mod c;\npub mod d;\n",
        ),
        ("src/a.rs", "use crate::b::Thing;\n"),
        ("src/b/mod.rs", "mod inner;\n"),
        (
            "src/b/inner.rs",
            "\n\nfn f() -> crate::c::Other { todo!() }\n",
        ),
        (
            "src/c.rs",
            "pub fn g() { crate::a::h(); crate::a::h(); crate::d::k(); }\n",
        ),
        ("src/d.rs", "use crate::c;\n"),
    ]);
    assert_eq!(
        circles(&g),
        vec![
            vec!["a", "b", "c", "d"]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        ]
    );
    let report = circle_report(&g);
    assert!(report.contains("1 import circle "), "{report}");
    assert!(report.contains("4 modules: a, b, c, d"), "{report}");
    assert!(
        report.contains("a shortest way round: a → b → c → a"),
        "{report}"
    );
    assert!(report.contains("a → b  src/a.rs:1\n"), "{report}");
    assert!(report.contains("b → c  src/b/inner.rs:3\n"), "{report}");
    assert!(
        report.contains("c → a  src/c.rs:1 (2 places)\n"),
        "{report}"
    );
    assert!(report.contains("c → d  src/c.rs:1\n"), "{report}");
    assert!(report.contains("d → c  src/d.rs:1\n"), "{report}");

    // Without d → c and c → a there is no circle left.
    let g = crate_of(&[
        ("src/a.rs", "use crate::b::Thing;\n"),
        ("src/b.rs", "use crate::c::Other;\n"),
        ("src/c.rs", "use crate::d::k;\n"),
        ("src/d.rs", "pub fn k() {}\n"),
    ]);
    assert!(circles(&g).is_empty());
    assert_eq!(circle_report(&g), "");
}

#[test]
fn grouped_and_nested_uses_are_parsed() {
    let g = crate_of(&[
        (
            "src/x.rs",
            "use crate::{a::b, y, c::{d, e}, self, {f, g::h}};\nuse crate::{\n    z::{\n        self,\n        W,\n    },\n};\n",
        ),
        ("src/a.rs", ""),
        ("src/c.rs", ""),
        ("src/d.rs", ""),
        ("src/e.rs", ""),
        ("src/f.rs", ""),
        ("src/g.rs", ""),
        ("src/h.rs", ""),
        ("src/y.rs", ""),
        ("src/z.rs", ""),
    ]);
    // d, e and h are inside another module's group: not uses of the root.
    assert_eq!(uses(&g, "x"), ["a", "c", "f", "g", "y", "z"]);
    assert_eq!(g.edges["x"]["z"][0].line, 3);
}

#[test]
fn comments_strings_and_chars_are_not_uses() {
    let g = crate_of(&[
        (
            "src/x.rs",
            concat!(
                "//! see crate::a\n",
                "/// crate::b is\n",
                "// crate::c\n",
                "/* crate::d /* nested crate::d */ still crate::d */\n",
                "const S: &str = \"crate::e \\\" crate::e\";\n",
                "const R: &str = r#\"crate::f \"# ;\n",
                "const C: char = '\"'; fn l<'a>(x: &'a str) -> crate::g::T { todo!() }\n",
                "const B: &[u8] = b\"crate::h\";\n",
                "pub(crate) fn p() {}\n",
                "#[arg(long, value_parser = crate::h::parse)]\n",
            ),
        ),
        ("src/a.rs", ""),
        ("src/b.rs", ""),
        ("src/c.rs", ""),
        ("src/d.rs", ""),
        ("src/e.rs", ""),
        ("src/f.rs", ""),
        ("src/g.rs", ""),
        ("src/h.rs", ""),
    ]);
    // Attributes are code: the one use of h is in `#[arg(..)]`, not in the byte string.
    assert_eq!(uses(&g, "x"), ["g", "h"]);
    assert_eq!(g.edges["x"]["g"][0].line, 7);
    assert_eq!(g.edges["x"]["h"][0].line, 10);
}

#[test]
fn test_code_is_not_counted() {
    let g = crate_of(&[
        ("src/lib.rs", "mod x;\n#[cfg(test)]\nmod only_in_tests;\n"),
        (
            "src/x/mod.rs",
            concat!(
                "pub fn real() -> crate::a::T { todo!() }\n",
                "#[cfg(test)]\nmod tests {\n    use crate::b::Fake;\n    mod deeper { use crate::b::Y; }\n}\n",
                "#[cfg(test)]\nuse crate::{c, d};\n",
                "#[cfg(all(test, unix))]\nfn helper() { crate::c::f(); }\n",
                "#[cfg(not(test))]\nfn kept() { crate::e::f(); }\n",
                "#[cfg(test)]\npub(crate) mod memory;\n",
                "#[cfg(test)]\n#[path = \"other_name.rs\"]\nmod renamed;\n",
                "mod after { use crate::f::Z; }\n",
            ),
        ),
        ("src/x/tests.rs", "use crate::b::Fake;\n"),
        ("src/x/check_tests.rs", "use crate::b::Fake;\n"),
        ("src/x/tests/more.rs", "use crate::b::Fake;\n"),
        ("src/x/memory.rs", "use crate::b::Fake;\n"),
        ("src/x/memory/part.rs", "use crate::b::Fake;\n"),
        ("src/x/other_name.rs", "use crate::b::Fake;\n"),
        ("src/x/hidden.rs", "#![cfg(test)]\nuse crate::b::Fake;\n"),
        (
            "src/x/hidden_too.rs",
            "//! Only for tests.\n#![allow(dead_code)]\n#![cfg(test)]\nuse crate::b::Fake;\n",
        ),
        ("src/only_in_tests.rs", "use crate::b::Fake;\n"),
        ("src/a.rs", ""),
        ("src/b.rs", ""),
        ("src/c.rs", ""),
        ("src/d.rs", ""),
        ("src/e.rs", ""),
        ("src/f.rs", ""),
    ]);
    assert_eq!(uses(&g, "x"), ["a", "e", "f"]);
    assert!(uses(&g, "only_in_tests").is_empty());
}

#[test]
fn super_chains_that_climb_to_the_root_are_uses_and_are_reported() {
    let g = crate_of(&[
        (
            "src/x/y.rs",
            concat!(
                "use super::sibling;\n",
                "use super::super::a::T;\n",
                "mod inner { use super::super::{b, x}; use super::super::super::c::U; }\n",
            ),
        ),
        ("src/x/mod.rs", "pub(super) fn f() {}\n"),
        ("src/a.rs", ""),
        ("src/b.rs", ""),
        ("src/c.rs", ""),
    ]);
    // `super::sibling` stays in x; from y, super::super is the root; from inner, one more.
    assert_eq!(uses(&g, "x"), ["a", "c"]);
    let report = circle_report(&g);
    assert!(
        report.contains("src/x/y.rs:2: a `super::` chain climbs to the crate root and names `a`: write `crate::a`"),
        "{report}"
    );
    assert!(
        report.contains("src/x/y.rs:3: a `super::` chain climbs to the crate root and names `c`"),
        "{report}"
    );
    assert!(!report.contains("names `b`"), "{report}");
}

#[test]
fn names_the_root_brings_in_are_uses_of_their_module() {
    let g = crate_of(&[
        (
            "src/lib.rs",
            concat!(
                "pub mod a;\n",
                "pub(crate) use config::HealthSpec;\n",
                "use printer::{self, Printer as P, deep::{Verbosity}};\n",
                "pub use crate::report::Record;\n",
                "#[cfg(test)]\nuse tests_only::Fake;\n",
                "fn run() { use stop::Stop; }\n",
            ),
        ),
        (
            "src/a.rs",
            "use crate::{HealthSpec, P, Verbosity, Record, Fake, Stop};\nfn f() -> crate::printer::X { todo!() }\n",
        ),
        ("src/config.rs", ""),
        ("src/printer/mod.rs", ""),
        ("src/report.rs", ""),
        ("src/tests_only.rs", ""),
        ("src/stop.rs", ""),
    ]);
    // Fake is only brought in for tests, Stop inside a function: neither is the root's.
    assert_eq!(uses(&g, "a"), ["config", "printer", "report"]);
    assert_eq!(g.edges["a"]["printer"].len(), 3);
}

#[test]
fn long_files_need_a_line_under_size_and_the_list_cannot_go_stale() {
    let architecture = "# Architecture\n\n## Size\n\n**Invariant:** no file ... Today:\n`src/big.rs` (~900: one unit), `src/gone.rs` (~700), src/shrunk/mod.rs (~650).\n\n## Tests\n\n`src/unlisted.rs` is mentioned here, not under Size.\n";
    let files = [
        ("src/big.rs".to_owned(), 900),
        ("src/shrunk/mod.rs".to_owned(), 600),
        ("src/unlisted.rs".to_owned(), 601),
        ("src/small.rs".to_owned(), 10),
    ];
    let report = size_report(&files, architecture);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 3, "{report}");
    assert!(
        lines[0].starts_with("src/unlisted.rs has 601 lines, over 600: split it"),
        "{report}"
    );
    assert!(
        lines[0].contains("add a line under `## Size` in ARCHITECTURE.md naming `src/unlisted.rs`"),
        "{report}"
    );
    assert!(
        lines[1].contains("names src/gone.rs, which does not exist"),
        "{report}"
    );
    assert!(
        lines[2].contains("names src/shrunk/mod.rs, which has 600 lines, not over 600: remove it"),
        "{report}"
    );

    assert_eq!(
        size_report(&files[..1], "## Size\n`src/big.rs` (why)\n"),
        ""
    );
    assert!(size_report(&files, "# no section\n").contains("no `## Size` section"));
}
