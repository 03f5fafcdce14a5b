//! Search across every conversation: what a result holds, how the words a
//! user types become a safe full-text query, and how a result's snippet is
//! split into plain and matched pieces for display.

use crate::domain::model::{ConversationSummary, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Marks the start and end of a matched word in a snippet (private-use
/// characters, which never need escaping and never appear in real text).
pub const MATCH_START: char = '\u{E000}';
pub const MATCH_END: char = '\u{E001}';

/// One message whose text matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageHit {
    pub conversation_id: Uuid,
    pub conversation_title: String,
    pub message_id: Uuid,
    pub role: Role,
    /// The text around the match, matched words between [`MATCH_START`]
    /// and [`MATCH_END`].
    pub snippet: String,
}

/// Conversations whose title matches, and messages whose text matches
/// (best match first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub conversations: Vec<ConversationSummary>,
    pub messages: Vec<MessageHit>,
}

/// The words of `input` as an FTS5 query: every word must appear, each may
/// be the start of a longer word, and nothing the user types is read as
/// query syntax. Words without a letter or digit are left out (the index
/// holds none). `None` when no words are left.
pub fn full_text_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// The words of `input` as a PostgreSQL `tsquery`: every run of letters
/// and digits must appear, each may be the start of a longer word, and
/// nothing the user types is read as query syntax (only letters and digits
/// reach the query, each quoted). `None` when no words are left.
pub fn prefix_tsquery(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| format!("'{}':*", word.to_lowercase()))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

/// `input` as a `LIKE` pattern that matches it anywhere, with `\` as the
/// escape character.
pub fn contains_pattern(input: &str) -> String {
    let mut pattern = String::from("%");
    for c in input.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A snippet as pieces of text, each flagged when it is a match.
pub fn snippet_pieces(snippet: &str) -> Vec<(String, bool)> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut matched = false;
    for c in snippet.chars() {
        if c == MATCH_START || c == MATCH_END {
            if !current.is_empty() {
                pieces.push((std::mem::take(&mut current), matched));
            }
            matched = c == MATCH_START;
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        pieces.push((current, matched));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_quoted_prefix_terms() {
        assert_eq!(
            full_text_query("  tree  branch "),
            Some("\"tree\"* \"branch\"*".into())
        );
        assert_eq!(full_text_query(" \t "), None);
        assert_eq!(full_text_query("* -- ?"), None);
    }

    #[test]
    fn query_syntax_in_the_input_stays_plain_text() {
        assert_eq!(
            full_text_query("a\"b OR NEAR(x"),
            Some("\"a\"\"b\"* \"OR\"* \"NEAR(x\"*".into())
        );
    }

    #[test]
    fn postgres_queries_keep_only_letters_and_digits() {
        assert_eq!(
            prefix_tsquery("NEAR(the \"Sale' | !x"),
            Some("'near':* & 'the':* & 'sale':* & 'x':*".into())
        );
        assert_eq!(prefix_tsquery("Café 50%"), Some("'café':* & '50':*".into()));
        assert_eq!(prefix_tsquery("* -- ?"), None);
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern(" 50%_off\\ "), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn snippets_split_into_plain_and_matched_pieces() {
        let snippet =
            format!("the {MATCH_START}tree{MATCH_END} grows {MATCH_START}tall{MATCH_END}");
        assert_eq!(
            snippet_pieces(&snippet),
            vec![
                ("the ".to_string(), false),
                ("tree".to_string(), true),
                (" grows ".to_string(), false),
                ("tall".to_string(), true),
            ]
        );
        assert_eq!(snippet_pieces("plain"), vec![("plain".to_string(), false)]);
    }
}
