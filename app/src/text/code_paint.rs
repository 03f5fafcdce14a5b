//! The colours of a code block as they travel from the server's highlighter
//! ([`crate::text::code_highlight`]) to the renderer on either side: not
//! HTML, but a short list of runs, each a kind letter and a length in bytes
//! (`k2.1f7` is a 2-byte keyword, 1 plain byte, a 7-byte function name).
//! Text after the last run is plain. The renderer writes the spans itself
//! around its own escaped copy of the code, so the colours cost a few bytes
//! per token and can never carry markup; colours that do not fit the code
//! (a malformed list, a length past the end or inside a character) are
//! ignored and the block shown plain.

use pulldown_cmark_escape::escape_html_body_text;
use std::fmt::Write;

/// The kinds of code the stylesheet colours; each is a class `hl-{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Comment,
    String,
    /// Numbers, `true`/`null` and the like, character escapes.
    Constant,
    /// Keywords, operators and storage words (`fn`, `let`, `class`, `pub`).
    Keyword,
    /// Names of functions, defined or called.
    Function,
    /// Names of types, classes and markup tags.
    Type,
    /// Parameters and markup attributes.
    Parameter,
}

/// Every kind with its letter in the run list and its class.
const KINDS: [(Kind, char, &str); 7] = [
    (Kind::Comment, 'c', "hl-comment"),
    (Kind::String, 's', "hl-string"),
    (Kind::Constant, 'n', "hl-constant"),
    (Kind::Keyword, 'k', "hl-keyword"),
    (Kind::Function, 'f', "hl-function"),
    (Kind::Type, 't', "hl-type"),
    (Kind::Parameter, 'p', "hl-parameter"),
];

/// The letter of plain text in the run list.
const PLAIN: char = '.';

impl Kind {
    /// The class the stylesheet colours.
    pub fn class(self) -> &'static str {
        KINDS.iter().find(|(k, ..)| *k == self).map_or("", |k| k.2)
    }

    fn letter(self) -> char {
        KINDS
            .iter()
            .find(|(k, ..)| *k == self)
            .map_or(PLAIN, |k| k.1)
    }

    fn of_letter(letter: char) -> Option<Option<Kind>> {
        if letter == PLAIN {
            return Some(None);
        }
        KINDS.iter().find(|k| k.1 == letter).map(|k| Some(k.0))
    }
}

/// Builds a run list from consecutive pieces of code, merging neighbours of
/// one kind.
#[derive(Debug, Default)]
pub struct RunList {
    runs: Vec<(Option<Kind>, usize)>,
}

impl RunList {
    /// The next `len` bytes of the code are of `kind` (`None`: plain).
    pub fn push(&mut self, kind: Option<Kind>, len: usize) {
        match self.runs.last_mut() {
            _ if len == 0 => {}
            Some((last, total)) if *last == kind => *total += len,
            _ => self.runs.push((kind, len)),
        }
    }

    /// The run list as sent; trailing plain text is left out.
    pub fn finish(mut self) -> String {
        if matches!(self.runs.last(), Some((None, _))) {
            self.runs.pop();
        }
        let mut list = String::with_capacity(self.runs.len() * 3);
        for (kind, len) in &self.runs {
            _ = write!(list, "{}{len}", kind.map_or(PLAIN, Kind::letter));
        }
        list
    }
}

/// The runs of a run list, or `None` if it is malformed.
fn decode(runs: &str) -> Option<Vec<(Option<Kind>, usize)>> {
    let mut decoded = Vec::new();
    let mut rest = runs;
    while let Some(letter) = rest.chars().next() {
        let kind = Kind::of_letter(letter)?;
        rest = &rest[letter.len_utf8()..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let len: usize = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        decoded.push((kind, len));
    }
    Some(decoded)
}

/// `code`, HTML-escaped, with each coloured run of `runs` in its span; the
/// code escaped and plain if `runs` does not fit it.
pub fn paint_html(code: &str, runs: &str) -> String {
    painted(code, runs).unwrap_or_else(|| {
        let mut html = String::with_capacity(code.len() + code.len() / 8);
        let _ = escape_html_body_text(&mut html, code);
        html
    })
}

fn painted(code: &str, runs: &str) -> Option<String> {
    let mut html = String::with_capacity(code.len() * 2);
    let mut at: usize = 0;
    for (kind, len) in decode(runs)? {
        let end = at.checked_add(len)?;
        let text = code.get(at..end)?;
        match kind {
            Some(kind) => {
                html.push_str("<span class=\"");
                html.push_str(kind.class());
                html.push_str("\">");
                escape_html_body_text(&mut html, text).ok()?;
                html.push_str("</span>");
            }
            None => escape_html_body_text(&mut html, text).ok()?,
        }
        at = end;
    }
    escape_html_body_text(&mut html, code.get(at..)?).ok()?;
    Some(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_merged_and_trailing_plain_text_left_out() {
        let mut runs = RunList::default();
        runs.push(Some(Kind::Keyword), 2);
        runs.push(None, 1);
        runs.push(Some(Kind::Function), 3);
        runs.push(Some(Kind::Function), 4);
        runs.push(None, 0);
        runs.push(None, 5);
        assert_eq!(runs.finish(), "k2.1f7");
        assert_eq!(RunList::default().finish(), "");
    }

    #[test]
    fn painting_wraps_each_coloured_run_and_escapes_all_text() {
        let code = "fn main() { \"<b>\" }\n";
        let html = paint_html(code, "k2.1f4.5s5");
        assert_eq!(
            html,
            "<span class=\"hl-keyword\">fn</span> <span class=\"hl-function\">main</span>() { \
             <span class=\"hl-string\">\"&lt;b&gt;\"</span> }\n"
        );
    }

    #[test]
    fn colours_that_do_not_fit_the_code_leave_it_plain() {
        let code = "é <x>";
        let plain = "é &lt;x&gt;";
        for runs in ["k1", "k99", "z2", "k", "k2x", "k18446744073709551616"] {
            assert_eq!(paint_html(code, runs), plain, "{runs}");
        }
        assert_eq!(
            paint_html(code, "k2"),
            "<span class=\"hl-keyword\">é</span> &lt;x&gt;"
        );
        assert_eq!(paint_html(code, ""), plain);
    }
}
