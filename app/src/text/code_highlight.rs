//! Syntax highlighting of code blocks with syntect's bundled grammars, on
//! the server only (the grammars and their regex engine would be most of
//! the browser's bundle). The grammars name every piece of code with a
//! stack of scopes; the few kinds the stylesheet colours
//! ([`Kind`]) are read off that stack, and each block's colours travel as a
//! run list ([`crate::text::code_paint`]) that both renderers paint. The
//! server fills a message's [`MessageNode::highlighted_code`] with them
//! before sending the message.

use crate::domain::model::{MessageNode, MessageStatus};
use crate::text::code_paint::{Kind, RunList};
use crate::text::markdown::code_blocks;
use std::sync::OnceLock;
use syntect::easy::ScopeRegionIterator;
use syntect::parsing::{ParseState, Scope, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

/// Which scopes are which kind: a scope is of a kind when one of these is
/// a prefix of it (`string` covers `string.quoted.double.rust`).
const SCOPE_KINDS: [(&str, Kind); 16] = [
    ("comment", Kind::Comment),
    ("string", Kind::String),
    ("constant.numeric", Kind::Constant),
    ("constant.language", Kind::Constant),
    ("constant.character", Kind::Constant),
    ("keyword", Kind::Keyword),
    ("storage", Kind::Keyword),
    ("entity.name.function", Kind::Function),
    ("support.function", Kind::Function),
    ("entity.name.type", Kind::Type),
    ("entity.name.class", Kind::Type),
    ("support.type", Kind::Type),
    ("support.class", Kind::Type),
    ("entity.name.tag", Kind::Type),
    ("variable.parameter", Kind::Parameter),
    ("entity.other.attribute-name", Kind::Parameter),
];

fn kind_scopes() -> &'static [(Scope, Kind)] {
    static SCOPES: OnceLock<Vec<(Scope, Kind)>> = OnceLock::new();
    SCOPES.get_or_init(|| {
        SCOPE_KINDS
            .iter()
            .filter_map(|(name, kind)| Some((Scope::new(name).ok()?, *kind)))
            .collect()
    })
}

/// The kind of the code under `stack`: the innermost scope that has one
/// decides (a character escape inside a string is a constant), as the
/// stylesheet's nearest coloured ancestor would.
fn kind_of(stack: &ScopeStack) -> Option<Kind> {
    let kinds = kind_scopes();
    stack.as_slice().iter().rev().find_map(|scope| {
        kinds
            .iter()
            .find(|(prefix, _)| prefix.is_prefix_of(*scope))
            .map(|(_, kind)| *kind)
    })
}

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

/// The run list of `code` highlighted as `language` (a fence's info word
/// such as `rust` or `py`); `None` when no grammar knows the language.
pub fn highlight(code: &str, language: &str) -> Option<String> {
    let language = language.trim().to_ascii_lowercase();
    if language.is_empty() {
        return None;
    }
    let set = syntaxes();
    let syntax = set.find_syntax_by_token(grammar_name(&language))?;
    let mut parser = ParseState::new(syntax);
    let mut stack = ScopeStack::new();
    let mut runs = RunList::default();
    for line in LinesWithEndings::from(code) {
        let ops = parser.parse_line(line, set).ok()?;
        for (text, op) in ScopeRegionIterator::new(&ops, line) {
            stack.apply(op).ok()?;
            runs.push(kind_of(&stack), text.len());
        }
    }
    Some(runs.finish())
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

    /// The block as the renderer shows it with the server's colours.
    fn painted(code: &str, language: &str) -> String {
        let runs = highlight(code, language).expect("a known language");
        crate::text::code_paint::paint_html(code, &runs)
    }

    #[test]
    fn known_languages_get_spans_of_their_kinds() {
        let html = painted("fn main() { let x = \"hi\"; } // done\n", "rust");
        assert!(
            html.contains("<span class=\"hl-keyword\">fn</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-function\">main</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-string\">\"hi\"</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"hl-comment\">// done"),
            "{html}"
        );
        assert!(highlight("print('x')\n", "Python").is_some());
        assert!(highlight("const a = 1;\n", "ts").is_some(), "an alias");
    }

    #[test]
    fn the_runs_cover_the_code_in_a_few_bytes_a_token() {
        let code = "let rings = 42; // \"<b>\"\nfor i in 0..3 { println!(\"{i}\"); }\n";
        let runs = highlight(code, "rust").expect("rust is known");
        assert!(runs.len() < code.len(), "{runs}");
        let html = crate::text::code_paint::paint_html(code, &runs);
        assert!(
            html.contains("<span class=\"hl-constant\">42</span>"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"), "{html}");
        assert_ne!(
            html,
            code.replace('<', "&lt;").replace('>', "&gt;"),
            "coloured"
        );
    }

    #[test]
    fn the_innermost_scope_with_a_kind_decides() {
        let html = painted("let s = \"a\\nb\";\n", "rust");
        assert!(
            html.contains("<span class=\"hl-constant\">\\n</span>"),
            "an escape inside a string: {html}"
        );
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
        assert!(blocks[1].as_deref().is_some_and(|b| b.starts_with('k')));
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
