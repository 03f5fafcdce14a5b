//! Markdown to safe HTML: GitHub-flavoured parsing with pulldown-cmark
//! (tables, task lists, strikethrough, footnotes, math, and bare URLs made
//! links with linkify), then an allow-list sanitizer (ammonia) so nothing a
//! model or a user writes can run script in the page. Code blocks get a
//! Copy button and, in a language the highlighter knows, syntax colours.

use crate::text::code_highlight::highlight;
use linkify::{LinkFinder, LinkKind};
use pulldown_cmark::{html, CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use std::sync::OnceLock;

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static SANITIZER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    SANITIZER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .link_rel(Some("noopener noreferrer nofollow"))
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .add_tag_attributes("code", ["class"])
            .add_tag_attributes("input", ["type", "checked", "disabled"])
            .add_tags(["input"])
            .add_tags(["button"])
            .add_tag_attributes("button", ["type", "aria-label"])
            .add_allowed_classes("button", ["copy-code"])
            .add_allowed_classes("div", ["code-block", "footnote-definition"])
            .add_allowed_classes("sup", ["footnote-reference"])
            .add_allowed_classes("span", ["math", "math-inline", "math-display"]);
        builder
    })
}

/// Renders markdown to HTML that is safe to insert into the page.
pub fn render_markdown(source: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH;
    let source = source.replace([SLOT_START, SLOT_END], "");
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    let (events, highlighted) = code_blocks(autolinked(Parser::new_ext(&source, options)));
    html::push_html(&mut unsafe_html, events.into_iter());
    let safe = sanitizer().clean(&unsafe_html).to_string();
    // The highlighter's output is escaped code in `<span class>` elements.
    fill_slots(&safe, &highlighted)
}

/// Turns bare URLs and e-mail addresses in plain text into links, as
/// GitHub does; text inside links and code is left alone.
fn autolinked<'a>(events: impl Iterator<Item = Event<'a>>) -> impl Iterator<Item = Event<'a>> {
    let mut in_link = 0usize;
    let mut in_code = false;
    events.flat_map(move |event| {
        match &event {
            Event::Start(Tag::Link { .. }) => in_link += 1,
            Event::End(TagEnd::Link) => in_link = in_link.saturating_sub(1),
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => in_code = false,
            Event::Text(text) if in_link == 0 && !in_code => return link_pieces(text),
            _ => {}
        }
        vec![event]
    })
}

/// A text event split into text and links.
fn link_pieces<'a>(text: &CowStr<'a>) -> Vec<Event<'a>> {
    let finder = LinkFinder::new();
    let mut events = Vec::new();
    for span in finder.spans(text) {
        let piece = span.as_str().to_string();
        match span.kind() {
            Some(kind) => {
                let href = match kind {
                    LinkKind::Email => format!("mailto:{piece}"),
                    _ => piece.clone(),
                };
                events.push(Event::Start(Tag::Link {
                    link_type: LinkType::Autolink,
                    dest_url: href.into(),
                    title: "".into(),
                    id: "".into(),
                }));
                events.push(Event::Text(piece.into()));
                events.push(Event::End(TagEnd::Link));
            }
            None => events.push(Event::Text(piece.into())),
        }
    }
    events
}

/// Opens and closes the numbered slot that stands for a highlighted code
/// block until the sanitizer has run (private-use characters, removed from
/// the source so no message can write one).
const SLOT_START: char = '\u{E002}';
const SLOT_END: char = '\u{E003}';

/// The box around a code block, with its Copy button (the chat page copies
/// the block's text when it is clicked).
const CODE_BOX_OPEN: &str = "<div class=\"code-block\"><button type=\"button\" \
                             class=\"copy-code\" aria-label=\"Copy code\">Copy</button>";

/// Puts each code block in a box with a Copy button. A block in a language
/// the highlighter knows holds a numbered slot instead of its text; the
/// highlighted HTML for each slot is returned beside the events.
fn code_blocks<'a>(events: impl Iterator<Item = Event<'a>>) -> (Vec<Event<'a>>, Vec<String>) {
    let mut out = Vec::new();
    let mut highlighted = Vec::new();
    let mut open: Option<(CodeBlockKind<'a>, String)> = None;
    for event in events {
        match (event, open.as_mut()) {
            (Event::Start(Tag::CodeBlock(kind)), _) => open = Some((kind, String::new())),
            (Event::Text(text), Some((_, code))) => code.push_str(&text),
            (Event::End(TagEnd::CodeBlock), Some(_)) => {
                let Some((kind, code)) = open.take() else {
                    continue;
                };
                let language = match &kind {
                    CodeBlockKind::Fenced(info) => info
                        .split(|c: char| c.is_whitespace() || c == ',')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                out.push(Event::Html(CODE_BOX_OPEN.into()));
                out.push(Event::Start(Tag::CodeBlock(kind)));
                match highlight(&code, &language) {
                    Some(html) => {
                        out.push(Event::Text(
                            format!("{SLOT_START}{}{SLOT_END}", highlighted.len()).into(),
                        ));
                        highlighted.push(html);
                    }
                    None => out.push(Event::Text(code.into())),
                }
                out.push(Event::End(TagEnd::CodeBlock));
                out.push(Event::Html("</div>".into()));
            }
            (other, _) => out.push(other),
        }
    }
    (out, highlighted)
}

/// Puts each highlighted block's HTML where its slot is.
fn fill_slots(html: &str, highlighted: &[String]) -> String {
    let mut filled =
        String::with_capacity(html.len() + highlighted.iter().map(String::len).sum::<usize>());
    let mut rest = html;
    while let Some(start) = rest.find(SLOT_START) {
        filled.push_str(&rest[..start]);
        let after = &rest[start + SLOT_START.len_utf8()..];
        let Some(end) = after.find(SLOT_END) else {
            rest = after;
            break;
        };
        if let Some(block) = after[..end]
            .parse::<usize>()
            .ok()
            .and_then(|n| highlighted.get(n))
        {
            filled.push_str(block);
        }
        rest = &after[end + SLOT_END.len_utf8()..];
    }
    filled.push_str(rest);
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_lists_code_blocks_and_tables() {
        let html = render_markdown(
            "- one\n- two\n\n```rust\nfn main() {}\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(
            html.contains("<code class=\"language-rust\"><span class=\"hl-source hl-rust\">"),
            "{html}"
        );
        assert!(html.contains("main"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<td>2</td>"), "{html}");
    }

    #[test]
    fn raw_html_and_script_never_survive() {
        let html = render_markdown(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n<b onclick=\"x()\">bold</b>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
    }

    #[test]
    fn javascript_links_lose_their_target_and_safe_links_get_rel() {
        let html = render_markdown("[x](javascript:alert(1)) [y](https://example.com)");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(
            html.contains("href=\"https://example.com\" rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }

    #[test]
    fn strikethrough_and_task_lists_render() {
        let html = render_markdown("~~old~~\n\n- [x] done\n");
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(html.contains("checkbox"), "{html}");
    }

    #[test]
    fn footnotes_render_as_a_reference_and_a_note() {
        let html = render_markdown("A claim.[^1]\n\n[^1]: The source.\n");
        assert!(
            html.contains("<sup class=\"footnote-reference\">"),
            "{html}"
        );
        assert!(html.contains("The source."), "{html}");
    }

    #[test]
    fn bare_urls_and_emails_become_links_but_not_inside_code_or_links() {
        let html = render_markdown(
            "See https://example.com/a?b=1 or write to ada@example.com.\n\n\
             `https://in.code` and [named](https://named.example)",
        );
        assert!(
            html.contains("<a href=\"https://example.com/a?b=1\""),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"mailto:ada@example.com\""),
            "{html}"
        );
        assert!(html.contains("<code>https://in.code</code>"), "{html}");
        assert_eq!(html.matches("named.example").count(), 1, "{html}");
    }

    #[test]
    fn math_is_shown_as_marked_code_not_dropped() {
        let html = render_markdown("Inline $e^{i\\pi} + 1 = 0$ and\n\n$$\\int_0^1 x\\,dx$$\n");
        assert!(html.contains("<span class=\"math math-inline\">"), "{html}");
        assert!(
            html.contains("<span class=\"math math-display\">"),
            "{html}"
        );
        assert!(html.contains("e^{i\\pi} + 1 = 0"), "{html}");
    }

    #[test]
    fn highlighted_code_keeps_its_text_escaped_and_unknown_languages_stay_plain() {
        let html = render_markdown(
            "```js\nconst tag = \"<img src=x onerror=alert(1)>\";\n```\n\n\
             ```no-such-language\nplain <b>text</b>\n```\n",
        );
        assert!(html.contains("hl-source hl-js"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(html.contains("plain &lt;b&gt;text&lt;/b&gt;"), "{html}");
        assert_eq!(html.matches("class=\"copy-code\"").count(), 2, "{html}");
    }

    #[test]
    fn slot_characters_typed_in_a_message_cannot_pull_in_other_html() {
        let html = render_markdown("before \u{E002}0\u{E003} after\n\n```rust\nlet a = 1;\n```\n");
        assert_eq!(html.matches("hl-source hl-rust").count(), 1, "{html}");
        assert!(html.contains("before 0 after"), "{html}");
    }

    #[test]
    fn urls_in_code_blocks_stay_text() {
        let html = render_markdown("```\nsee https://example.com\n```\n");
        assert!(!html.contains("<a "), "{html}");
    }

    #[test]
    fn code_blocks_get_a_copy_button_and_a_pre_in_text_cannot_fake_one() {
        let html = render_markdown("```\nlet x = 1;\n```\n\nnot a block: <pre>\n");
        assert_eq!(html.matches("class=\"copy-code\"").count(), 1, "{html}");
        assert!(html.contains("<div class=\"code-block\">"), "{html}");
    }
}
