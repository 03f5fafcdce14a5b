//! Markdown to safe HTML: GitHub-flavoured parsing with pulldown-cmark
//! (tables, task lists, strikethrough, footnotes, math, and bare URLs made
//! links with linkify), then an allow-list sanitizer (ammonia) so nothing a
//! model or a user writes can run script in the page. Code blocks get a
//! Copy button.

use linkify::{LinkFinder, LinkKind};
use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
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
    let mut unsafe_html = String::with_capacity(source.len() * 3 / 2);
    let events = with_copy_buttons(autolinked(Parser::new_ext(source, options)));
    html::push_html(&mut unsafe_html, events);
    sanitizer().clean(&unsafe_html).to_string()
}

/// Turns bare URLs and e-mail addresses in plain text into links, as
/// GitHub does; text inside links and code is left alone.
fn autolinked<'a>(events: impl Iterator<Item = Event<'a>>) -> impl Iterator<Item = Event<'a>> {
    let mut in_link = 0usize;
    events.flat_map(move |event| {
        match &event {
            Event::Start(Tag::Link { .. }) => in_link += 1,
            Event::End(TagEnd::Link) => in_link = in_link.saturating_sub(1),
            Event::Text(text) if in_link == 0 => return link_pieces(text),
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

/// Puts each code block in a box with a Copy button (the chat page copies
/// the block's text when it is clicked).
fn with_copy_buttons<'a>(
    events: impl Iterator<Item = Event<'a>>,
) -> impl Iterator<Item = Event<'a>> {
    events.flat_map(|event| match event {
        Event::Start(Tag::CodeBlock(_)) => vec![
            Event::Html(
                "<div class=\"code-block\"><button type=\"button\" class=\"copy-code\" \
                 aria-label=\"Copy code\">Copy</button>"
                    .into(),
            ),
            event,
        ],
        Event::End(TagEnd::CodeBlock) => vec![event, Event::Html("</div>".into())],
        other => vec![other],
    })
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
            html.contains("<code class=\"language-rust\">fn main() {}"),
            "{html}"
        );
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
    fn code_blocks_get_a_copy_button_and_a_pre_in_text_cannot_fake_one() {
        let html = render_markdown("```\nlet x = 1;\n```\n\nnot a block: <pre>\n");
        assert_eq!(html.matches("class=\"copy-code\"").count(), 1, "{html}");
        assert!(html.contains("<div class=\"code-block\">"), "{html}");
    }
}
