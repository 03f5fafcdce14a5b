//! The names of the bundle's files (WASM, JS, CSS under `/pkg/`). A
//! release built by cargo-leptos with `hash-files` names each after a hash
//! of its content and leaves the hashes in `hash.txt` beside the server
//! binary (lines such as `css: <hash>`); any other build has the plain
//! names.

use std::sync::OnceLock;

/// What `hash.txt` says (the hash of each kind of file: `wasm`, `js`,
/// `css`), read once; `None` when the files have their plain names.
fn hashes() -> Option<&'static [(String, String)]> {
    static HASHES: OnceLock<Option<Vec<(String, String)>>> = OnceLock::new();
    HASHES
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let text = std::fs::read_to_string(exe.parent()?.join("hash.txt")).ok()?;
            Some(parse_hashes(&text))
        })
        .as_deref()
}

/// The `kind: hash` lines of `hash.txt`.
fn parse_hashes(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(kind, hash)| (kind.trim().to_string(), hash.trim().to_string()))
        .filter(|(kind, hash)| !kind.is_empty() && !hash.is_empty())
        .collect()
}

/// Whether the files are named by content (Leptos then asks for those names).
pub fn named_by_content() -> bool {
    hashes().is_some()
}

/// The style sheet's path, for pages the server writes by hand.
pub fn stylesheet_href() -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| stylesheet_path(hashes()))
}

fn stylesheet_path(hashes: Option<&[(String, String)]>) -> String {
    let hash = hashes
        .into_iter()
        .flatten()
        .find(|(kind, _)| kind == "css")
        .map(|(_, hash)| format!(".{hash}"))
        .unwrap_or_default();
    format!("/pkg/arbor{hash}.css")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_style_sheet_takes_its_hash_from_the_file() {
        let hashes = parse_hashes("wasm: abc\njs: def\n  css: Xyz_12\n\nbroken line\n");
        assert_eq!(hashes.len(), 3);
        assert_eq!(stylesheet_path(Some(&hashes)), "/pkg/arbor.Xyz_12.css");
        assert_eq!(stylesheet_path(None), "/pkg/arbor.css");
        assert_eq!(stylesheet_path(Some(&[])), "/pkg/arbor.css");
    }
}
