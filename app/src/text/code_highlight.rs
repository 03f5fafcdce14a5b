//! Syntax highlighting of code blocks with syntect's bundled grammars. The
//! output is the code, HTML-escaped, in `<span class="hl-…">` elements
//! named after the grammar's scopes; `style/main.css` colours them.

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
}
