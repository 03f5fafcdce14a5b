//! A word-level diff of two texts, for comparing branches: which words only
//! one side has, and which both share. The diffing is the `similar` crate's,
//! on the server only (the compare view asks for it with `word_diffs`, so
//! the diff engine stays out of the browser's bundle); this module turns it
//! into runs ready to show.

use serde::{Deserialize, Serialize};
#[cfg(feature = "ssr")]
use similar::{ChangeTag, TextDiff};

/// Which side a run of text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffSide {
    Both,
    /// Only in the left (older) text.
    Removed,
    /// Only in the right (newer) text.
    Added,
}

/// A run of consecutive words with the same side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffRun {
    pub side: DiffSide,
    pub text: String,
}

/// The runs that turn `left` into `right`, word by word; whitespace
/// between changed words stays with them.
#[cfg(feature = "ssr")]
pub fn word_diff(left: &str, right: &str) -> Vec<DiffRun> {
    let diff = TextDiff::from_words(left, right);
    let mut runs: Vec<DiffRun> = Vec::new();
    for change in diff.iter_all_changes() {
        let side = match change.tag() {
            ChangeTag::Equal => DiffSide::Both,
            ChangeTag::Delete => DiffSide::Removed,
            ChangeTag::Insert => DiffSide::Added,
        };
        match runs.last_mut() {
            Some(last) if last.side == side => last.text.push_str(change.value()),
            _ => runs.push(DiffRun {
                side,
                text: change.value().to_string(),
            }),
        }
    }
    runs
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    /// The text of one side rebuilt from the runs (`Removed` is the left side).
    fn side_text(runs: &[DiffRun], side: DiffSide) -> String {
        runs.iter()
            .filter(|r| r.side == DiffSide::Both || r.side == side)
            .map(|r| r.text.as_str())
            .collect()
    }

    #[test]
    fn identical_texts_are_one_shared_run() {
        let runs = word_diff("the same words", "the same words");
        assert_eq!(
            runs,
            vec![DiffRun {
                side: DiffSide::Both,
                text: "the same words".into()
            }]
        );
    }

    #[test]
    fn a_changed_word_is_removed_on_one_side_and_added_on_the_other() {
        let runs = word_diff("the quick brown fox", "the slow brown fox");
        let removed: Vec<&str> = runs
            .iter()
            .filter(|r| r.side == DiffSide::Removed)
            .map(|r| r.text.trim())
            .collect();
        let added: Vec<&str> = runs
            .iter()
            .filter(|r| r.side == DiffSide::Added)
            .map(|r| r.text.trim())
            .collect();
        assert_eq!(removed, vec!["quick"]);
        assert_eq!(added, vec!["slow"]);
    }

    #[test]
    fn each_side_can_be_rebuilt_from_the_runs() {
        let left = "Rust is fast.\nIt has no garbage collector.";
        let right = "Rust is fast and safe.\nIt has no collector at all.";
        let runs = word_diff(left, right);
        assert_eq!(side_text(&runs, DiffSide::Removed), left);
        assert_eq!(side_text(&runs, DiffSide::Added), right);
    }

    #[test]
    fn an_empty_side_makes_everything_added() {
        let runs = word_diff("", "all new");
        assert!(runs.iter().all(|r| r.side == DiffSide::Added));
    }
}
