//! Syntax highlighting of code blocks with syntect's bundled grammars, on
//! the server only (the grammars and their regex engine would be most of
//! the browser's bundle). The output is the code, HTML-escaped, in
//! `<span class="hl-…">` elements named after the grammar's scopes;
//! `style/main.css` colours them. The server fills a message's
//! [`MessageNode::highlighted_code`] with it before sending the message.

use crate::domain::model::{MessageNode, MessageStatus};
use crate::text::markdown::code_blocks;
use std::sync::OnceLock;
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// The prefix of every class the highlighter writes.
pub const CLASS_PREFIX: &str = "hl-";

fn syntaxes() -> &'static SyntaxSet {
    static SYNTAXES: OnceLock<SyntaxSet> = OnceLock::new();
    SYNTAXES.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Names people put after ``` that the bundled grammars know by another name.
fn grammar_name(language: &str) -> &str {
    match language {
        "ts" | "typescript" | "tsx" | "jsx" | "mjs" => "js",
        "sh" | "shell" | "zsh" | "console" => "bash",
        "py3" => "py",
        other => other,
    }
}

/// `code` highlighted as `language` (a fence's info word such as `rust`
/// or `py`); `None` when no grammar knows the language.
pub fn highlight(code: &str, language: &str) -> Option<String> {
    let language = language.trim().to_ascii_lowercase();
    if language.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax = set.find_syntax_by_token(grammar_name(&language))?;
    let mut html = ClassedHTMLGenerator::new_with_class_style(
        syntax,
        set,
        ClassStyle::SpacedPrefixed {
            prefix: CLASS_PREFIX,
        },
    );
    for line in LinesWithEndings::from(code) {
        html.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    Some(html.finalize())
}

/// Each code block of the markdown `source` highlighted, in order (`None`
/// for a block in no known language); empty when no block is known, so a
/// message without code carries nothing extra.
pub fn highlight_code_blocks(source: &str) -> Vec<Option<String>> {
    let blocks: Vec<Option<String>> = code_blocks(source)
        .iter()
        .map(|block| highlight(&block.code, &block.language))
        .collect();
    if blocks.iter().all(Option::is_none) {
        return Vec::new();
    }
    blocks
}

/// Fills the colours of a message that will not change any more (a
/// streaming reply gets them with its `done` event).
pub fn highlight_message(node: &mut MessageNode) {
    if node.status != MessageStatus::Streaming {
        node.highlighted_code = highlight_code_blocks(&node.content);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_get_scope_classes() {
        let html = highlight("fn main() { let x = \"hi\"; }\n", "rust").expect("rust is known");
        assert!(
            html.contains("<span class=\"hl-source hl-rust\">"),
            "{html}"
        );
        assert!(html.contains("hl-storage"), "{html}");
        assert!(html.contains("hl-string"), "{html}");
        assert!(highlight("print('x')\n", "Python").is_some());
        assert!(highlight("const a = 1;\n", "ts").is_some(), "an alias");
    }

    #[test]
    fn code_text_stays_escaped() {
        let html = highlight("let s = \"<script>\";\n", "js").expect("js is known");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn unknown_or_missing_languages_are_not_highlighted() {
        assert_eq!(highlight("x", "no-such-language"), None);
        assert_eq!(highlight("x", ""), None);
    }

    #[test]
    fn blocks_are_highlighted_in_order_and_plain_ones_hold_their_place() {
        let source = "```\nplain\n```\n\ntext\n\n```rust\nlet a = 1;\n```\n";
        let blocks = highlight_code_blocks(source);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], None);
        assert!(blocks[1].as_deref().is_some_and(|b| b.contains("hl-rust")));
        assert!(highlight_code_blocks("no code\n\n```\nplain\n```\n").is_empty());
    }

    #[test]
    fn streaming_replies_are_left_for_their_done_event() {
        let text = "```rust\nfn f() {}\n```\n";
        let mut node = MessageNode::new(
            uuid::Uuid::nil(),
            None,
            crate::domain::model::Role::Assistant,
            text,
            MessageStatus::Streaming,
            0,
        );
        highlight_message(&mut node);
        assert!(node.highlighted_code.is_empty());
        node.status = MessageStatus::Complete;
        highlight_message(&mut node);
        assert_eq!(node.highlighted_code.len(), 1);
    }
}
