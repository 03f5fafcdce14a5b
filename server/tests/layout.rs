//! The floor plan holds: no source file of `app` or `server` is over 650
//! lines, no two modules import each other (a child may use its parent's
//! items: it is part of it), only `server/src/http/` speaks axum, and only
//! `server/src/chat/` names an actor command. Read from the source files,
//! as a reviewer would.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 650;

/// A module's path inside its crate (`["chat", "actor"]`), the crate root
/// being empty.
type ModulePath = Vec<String>;

/// Every `.rs` file below `root` with its module path.
fn modules(root: &Path) -> BTreeMap<ModulePath, PathBuf> {
    let mut found = BTreeMap::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).expect("the source folder is readable");
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(root).expect("below the root");
            let mut segments: ModulePath = relative
                .iter()
                .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if matches!(
                segments.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                segments.pop();
            }
            if relative == Path::new("main.rs") {
                continue; // the binary: its own crate, using the library by name
            }
            found.insert(segments, path);
        }
    }
    found
}

/// Expands a `use` tree (`a::{b, c::{d, e}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.to_string()];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.trim().is_empty())
        .flat_map(|item| expand(&format!("{prefix}{}", item.trim())))
        .collect()
}

/// A file's code without its comment lines.
fn code_of(file: &Path) -> String {
    std::fs::read_to_string(file)
        .expect("a source file is readable")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a file's code names that starts at `crate`, `super` or
/// `self`, as written (`use` trees expanded).
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let lines: Vec<&str> = code.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_start();
        let Some(at) = line.find("use ") else {
            continue;
        };
        let visibility = &line[..at];
        if !(visibility.is_empty() || visibility.starts_with("pub")) {
            continue;
        }
        let statement: String = lines[i..].join(" ");
        let statement = &statement[statement.find("use ").unwrap_or(0) + 4..];
        let end = statement.find(';').unwrap_or(statement.len());
        paths.extend(expand(&statement[..end].replace(char::is_whitespace, "")));
    }
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(start) {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            paths.push(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    paths
}

/// The module a path names, resolved from module `from`: the longest
/// prefix that is a module of the crate.
fn resolve(path: &str, from: &ModulePath, known: &BTreeSet<ModulePath>) -> Option<ModulePath> {
    let mut segments = path.split("::").filter(|s| !s.is_empty());
    let mut at: ModulePath = match segments.next()? {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => from[..from.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    let mut best = known.contains(&at).then(|| at.clone());
    for segment in segments {
        if segment == "super" {
            at.pop();
        } else {
            at.push(segment.to_string());
        }
        if known.contains(&at) {
            best = Some(at.clone());
        }
    }
    best
}

/// Pairs of modules that import each other, neither inside the other.
fn mutual_imports(root: &Path) -> Vec<String> {
    let files = modules(root);
    let known: BTreeSet<ModulePath> = files.keys().cloned().collect();
    let mut uses: BTreeMap<ModulePath, BTreeSet<ModulePath>> = BTreeMap::new();
    for (module, file) in &files {
        for path in named_paths(&code_of(file)) {
            if let Some(target) = resolve(&path, module, &known) {
                if target != *module {
                    uses.entry(module.clone()).or_default().insert(target);
                }
            }
        }
    }
    let mut pairs = Vec::new();
    for (a, targets) in &uses {
        for b in targets {
            let related = a.starts_with(b) || b.starts_with(a);
            let back = uses.get(b).is_some_and(|t| t.contains(a));
            if back && !related && a < b {
                pairs.push(format!("{} <-> {}", a.join("::"), b.join("::")));
            }
        }
    }
    pairs
}

fn source_root(crate_folder: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(crate_folder)
        .join("src")
}

/// Files below `root` over [`MAX_LINES`], with their length.
fn long_files(root: &Path) -> Vec<String> {
    let mut long = Vec::new();
    for file in modules(root).values() {
        let lines = std::fs::read_to_string(file)
            .expect("a source file is readable")
            .lines()
            .count();
        if lines > MAX_LINES {
            long.push(format!("{} ({lines} lines)", file.display()));
        }
    }
    long
}

/// Files below `root`, outside `allowed` (a folder of `root`), whose code
/// contains any of `names`.
fn naming_outside(root: &Path, allowed: &str, names: &[&str]) -> Vec<String> {
    let allowed = root.join(allowed);
    modules(root)
        .values()
        .filter(|file| !file.starts_with(&allowed))
        .filter(|file| {
            let code = code_of(file);
            names.iter().any(|name| code.contains(name))
        })
        .map(|file| file.display().to_string())
        .collect()
}

const AXUM: &[&str] = &["axum"];
const ACTOR_COMMANDS: &[&str] = &["actor::Command", "actor::Op", "Command {", "Op::"];

#[test]
fn no_source_file_is_over_650_lines() {
    let mut long = long_files(&source_root("app"));
    long.extend(long_files(&source_root("server")));
    assert!(long.is_empty(), "split these files: {long:#?}");
}

#[test]
fn no_two_modules_import_each_other() {
    for crate_folder in ["app", "server"] {
        let pairs = mutual_imports(&source_root(crate_folder));
        assert!(pairs.is_empty(), "{crate_folder}: {pairs:#?}");
    }
}

#[test]
fn only_the_http_folder_speaks_axum() {
    let outside = naming_outside(&source_root("server"), "http", AXUM);
    assert!(
        outside.is_empty(),
        "axum outside server/src/http/: {outside:#?}"
    );
}

#[test]
fn only_the_chat_folder_names_actor_commands() {
    let outside = naming_outside(&source_root("server"), "chat", ACTOR_COMMANDS);
    assert!(
        outside.is_empty(),
        "actor commands outside chat/: {outside:#?}"
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    let write = |file: &str, text: &str| std::fs::write(src.join(file), text).expect("write");
    for folder in ["a", "http", "chat"] {
        std::fs::create_dir_all(src.join(folder)).expect("folder");
    }
    write("lib.rs", "pub mod a;\npub mod b;\n");
    write("a/mod.rs", "pub mod inner;\nuse crate::b::thing;\n");
    write("a/inner.rs", "use super::super::b::{other, thing};\n");
    write("b.rs", "use crate::{a::inner::x, c};\n");
    assert_eq!(mutual_imports(src), vec!["a::inner <-> b".to_string()]);
    write("b.rs", "pub fn thing() {}\n");
    assert!(mutual_imports(src).is_empty());

    write("http/router.rs", "use axum::Router;\n");
    write("chat/service.rs", "let op = Op::Snapshot(reply);\n");
    assert!(naming_outside(src, "http", AXUM).is_empty());
    assert!(naming_outside(src, "chat", ACTOR_COMMANDS).is_empty());
    write(
        "b.rs",
        "// axum and Op:: in a comment are fine\nuse axum::Json;\n",
    );
    assert_eq!(naming_outside(src, "http", AXUM).len(), 1);
    write("b.rs", "registry.request(|reply| Command { user, op });\n");
    assert_eq!(naming_outside(src, "chat", ACTOR_COMMANDS).len(), 1);

    assert!(long_files(src).is_empty());
    write("b.rs", &"let x = 1;\n".repeat(MAX_LINES + 1));
    assert_eq!(long_files(src).len(), 1);
    write("b.rs", &"let x = 1;\n".repeat(MAX_LINES));
    assert!(long_files(src).is_empty());
}
