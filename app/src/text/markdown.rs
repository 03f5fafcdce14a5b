//! Markdown to safe HTML: GitHub-flavoured parsing with pulldown-cmark
//! (tables, task lists, strikethrough, footnotes, math, and bare URLs made
//! links with linkify). The output is safe by construction, so the same
//! renderer runs on the server and in the browser with no sanitizer: raw
//! HTML in a message is shown as text, links and images keep only
//! `http`, `https`, `mailto` or relative targets, and no element gets an
//! `id` or a `style`. Code blocks get a Copy button; the server's syntax
//! colours for them ([`crate::text::code_highlight`]) come in beside the
//! text, since the highlighter's grammars are too large for the browser.

use crate::text::code_paint::paint_html;
use linkify::{LinkFinder, LinkKind};
use pulldown_cmark::{html, CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use pulldown_cmark_escape::{escape_href, escape_html};
use std::collections::HashMap;

/// The relation every link in a message gets: it opens nothing with our
/// window, sends no referrer and passes no ranking.
const LINK_REL: &str = "noopener noreferrer nofollow";

/// URL schemes a link or image may have (a target with no scheme is
/// relative to the page and allowed too).
const ALLOWED_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH
}

/// A fenced or indented code block of a message, in the order the
/// renderer meets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The fence's first info word (`rust` in ```` ```rust ````), empty if none.
    pub language: String,
    pub code: String,
}

/// Every code block of `source`, in order: what the server highlights,
/// one entry per block, for [`render_markdown`]'s `highlighted`.
pub fn code_blocks(source: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock> = None;
    for event in Parser::new_ext(source, options()) {
        match (event, open.as_mut()) {
            (Event::Start(Tag::CodeBlock(kind)), _) => {
                open = Some(CodeBlock {
                    language: language_of(&kind),
                    code: String::new(),
                })
            }
            (Event::Text(text), Some(block)) => block.code.push_str(&text),
            (Event::End(TagEnd::CodeBlock), Some(_)) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks
}

fn language_of(kind: &CodeBlockKind) -> String {
    match kind {
        CodeBlockKind::Fenced(info) => info
            .split(|c: char| c.is_whitespace() || c == ',')
            .next()
            .unwrap_or_default()
            .to_string(),
        CodeBlockKind::Indented => String::new(),
    }
}

/// Renders markdown to HTML that is safe to insert into the page. The n-th
/// code block is painted with `highlighted[n]` when it is there (the run
/// list of the server's colours for it, see [`crate::text::code_paint`]),
/// else shown plain.
pub fn render_markdown(source: &str, highlighted: &[Option<String>]) -> String {
    let mut out = String::with_capacity(source.len() * 3 / 2);
    let events = safe_events(autolinked(Parser::new_ext(source, options())), highlighted);
    html::push_html(&mut out, events.into_iter());
    out
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

/// The box around a code block, with its Copy button (the chat page copies
/// the block's text when it is clicked).
const CODE_BOX_OPEN: &str = "<div class=\"code-block\"><button type=\"button\" \
                             class=\"copy-code\" aria-label=\"Copy code\">Copy</button>";

/// Rewrites the parser's events so that nothing unsafe reaches the HTML
/// writer: raw HTML becomes text; links, images and footnotes are written
/// here (allowed targets only, no ids); table cells lose their alignment
/// (a `style` the page's policy refuses); code blocks get their box and,
/// where the server sent them, their colours.
fn safe_events<'a>(
    events: impl Iterator<Item = Event<'a>>,
    highlighted: &[Option<String>],
) -> Vec<Event<'a>> {
    let mut out = Vec::new();
    let mut footnotes: HashMap<CowStr<'a>, usize> = HashMap::new();
    let mut footnote_number = |name: CowStr<'a>| {
        let next = footnotes.len() + 1;
        *footnotes.entry(name).or_insert(next)
    };
    let mut block = 0usize;
    // The colours of the code block being read, and its code so far.
    let mut painting: Option<(&str, String)> = None;
    for event in events {
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => out.push(Event::Text(raw)),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) => {
                let href = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.to_string(),
                };
                let mut tag = String::from("<a");
                if allowed_target(&href) {
                    tag.push_str(" href=\"");
                    _ = escape_href(&mut tag, &href);
                    tag.push('"');
                }
                if !title.is_empty() {
                    tag.push_str(" title=\"");
                    _ = escape_html(&mut tag, &title);
                    tag.push('"');
                }
                tag.push_str(&format!(" rel=\"{LINK_REL}\">"));
                out.push(Event::Html(tag.into()));
            }
            Event::End(TagEnd::Link) => out.push(Event::Html("</a>".into())),
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            }) if !allowed_target(&dest_url) => {
                // Written without a source: the alt text stays readable.
                out.push(Event::Start(Tag::Image {
                    link_type,
                    dest_url: "".into(),
                    title,
                    id,
                }));
            }
            Event::FootnoteReference(name) => {
                let number = footnote_number(name);
                out.push(Event::Html(
                    format!("<sup class=\"footnote-reference\">{number}</sup>").into(),
                ));
            }
            Event::Start(Tag::FootnoteDefinition(name)) => {
                let number = footnote_number(name);
                out.push(Event::Html(
                    format!(
                        "\n<div class=\"footnote-definition\">\
                         <sup class=\"footnote-definition-label\">{number}</sup>"
                    )
                    .into(),
                ));
            }
            Event::End(TagEnd::FootnoteDefinition) => out.push(Event::Html("</div>\n".into())),
            Event::Start(Tag::Table(alignments)) => {
                let plain = vec![pulldown_cmark::Alignment::None; alignments.len()];
                out.push(Event::Start(Tag::Table(plain)));
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                out.push(Event::Html(CODE_BOX_OPEN.into()));
                out.push(Event::Start(Tag::CodeBlock(kind)));
                if let Some(Some(runs)) = highlighted.get(block) {
                    painting = Some((runs, String::new()));
                }
            }
            Event::Text(text) if painting.is_some() => {
                if let Some((_, code)) = painting.as_mut() {
                    code.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                block += 1;
                if let Some((runs, code)) = painting.take() {
                    out.push(Event::Html(paint_html(&code, runs).into()));
                }
                out.push(Event::End(TagEnd::CodeBlock));
                out.push(Event::Html("</div>".into()));
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether a link or image may point at `url`: an allowed scheme, or none
/// (relative to the page). Browsers ignore ASCII whitespace and control
/// characters in a scheme (`java\tscript:`), so they are ignored here too.
fn allowed_target(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .collect();
    let scheme_end = cleaned.find(':');
    let path_start = cleaned.find(['/', '?', '#']);
    match (scheme_end, path_start) {
        (None, _) => true,
        (Some(colon), Some(path)) if path < colon => true,
        (Some(colon), _) => {
            let scheme = cleaned[..colon].to_ascii_lowercase();
            ALLOWED_SCHEMES.contains(&scheme.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str) -> String {
        render_markdown(source, &[])
    }

    #[test]
    fn renders_lists_code_blocks_and_tables() {
        let html =
            render("- one\n- two\n\n```rust\nfn main() {}\n```\n\n| a | b |\n|:-|-:|\n| 1 | 2 |\n");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(
            html.contains("<code class=\"language-rust\">fn main() {}"),
            "{html}"
        );
        assert!(html.contains("<table>"), "{html}");
        assert!(html.contains("<td>2</td>"), "{html}");
        assert!(!html.contains("style="), "no alignment style: {html}");
    }

    #[test]
    fn raw_html_and_script_are_shown_as_text() {
        let html = render(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n<b onclick=\"x()\">bold</b> \
             and <i>inline</i>",
        );
        for tag in ["<script", "<img", "<b ", "<b>", "<i>"] {
            assert!(!html.contains(tag), "{tag} in {html}");
        }
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(html.contains("&lt;i&gt;inline&lt;/i&gt;"), "{html}");
    }

    #[test]
    fn unsafe_link_and_image_targets_are_dropped_and_links_get_rel() {
        let html = render(
            "[x](javascript:alert(1)) [t](<java\tscript:alert(1)>) [d](data:text/html,hi) \
             [y](https://example.com) [r](/c/1#m-2) ![i](javascript:alert(1)) ![ok](/logo.png)",
        );
        assert!(!html.to_ascii_lowercase().contains("script:"), "{html}");
        assert!(!html.contains("data:"), "{html}");
        assert!(
            html.contains(
                "<a href=\"https://example.com\" rel=\"noopener noreferrer nofollow\">y</a>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<a rel=\"noopener noreferrer nofollow\">x</a>"),
            "{html}"
        );
        assert!(html.contains("href=\"/c/1#m-2\""), "{html}");
        assert!(html.contains("<img src=\"\" alt=\"i\""), "{html}");
        assert!(html.contains("<img src=\"/logo.png\" alt=\"ok\""), "{html}");
    }

    #[test]
    fn attribute_text_cannot_break_out_of_its_quotes() {
        let html = render("[a](https://e.com/\"onmouseover=\"x \"t\\\"onclick=\\\"y\")");
        assert!(!html.contains("\" onmouseover"), "{html}");
        assert!(!html.contains("\"onclick"), "{html}");
    }

    #[test]
    fn strikethrough_and_task_lists_render() {
        let html = render("~~old~~\n\n- [x] done\n");
        assert!(html.contains("<del>old</del>"), "{html}");
        assert!(html.contains("checkbox"), "{html}");
    }

    #[test]
    fn footnotes_render_as_a_numbered_reference_and_note_without_ids() {
        let html = render("A claim.[^main]\n\n[^main]: The source.\n");
        assert!(
            html.contains("<sup class=\"footnote-reference\">1</sup>"),
            "{html}"
        );
        assert!(
            html.contains("<sup class=\"footnote-definition-label\">1</sup>"),
            "{html}"
        );
        assert!(html.contains("The source."), "{html}");
        assert!(
            !html.contains("id="),
            "no element ids from message text: {html}"
        );
    }

    #[test]
    fn bare_urls_and_emails_become_links_but_not_inside_code_or_links() {
        let html = render(
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
        let html = render("Inline $e^{i\\pi} + 1 = 0$ and\n\n$$\\int_0^1 x\\,dx$$\n");
        assert!(html.contains("<span class=\"math math-inline\">"), "{html}");
        assert!(
            html.contains("<span class=\"math math-display\">"),
            "{html}"
        );
        assert!(html.contains("e^{i\\pi} + 1 = 0"), "{html}");
    }

    #[test]
    fn code_blocks_show_the_colours_given_for_them_in_order() {
        let source = "```js\nconst tag = \"<img>\";\n```\n\n```\nplain <b>text</b>\n```\n\n\
                      ```py\nx = 1\n```\n";
        let colours = [Some("k5.7s7".to_string()), None];
        let html = render_markdown(source, &colours);
        assert!(
            html.contains(
                "<code class=\"language-js\"><span class=\"hl-keyword\">const</span> tag = \
                 <span class=\"hl-string\">\"&lt;img&gt;\"</span>;\n</code>"
            ),
            "{html}"
        );
        assert!(!html.contains("<img>"), "{html}");
        assert!(html.contains("plain &lt;b&gt;text&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("<code class=\"language-py\">x = 1"),
            "no colours given: {html}"
        );
        assert_eq!(html.matches("class=\"copy-code\"").count(), 3, "{html}");
    }

    #[test]
    fn code_blocks_are_listed_in_the_order_the_renderer_meets_them() {
        let blocks =
            code_blocks("```rust,ignore\nlet a;\n```\n\n    indented\n\n> ```py\n> x\n> ```\n");
        let languages: Vec<&str> = blocks.iter().map(|b| b.language.as_str()).collect();
        assert_eq!(languages, ["rust", "", "py"]);
        assert_eq!(blocks[0].code, "let a;\n");
        assert_eq!(blocks[1].code, "indented\n");
    }

    #[test]
    fn urls_in_code_blocks_stay_text() {
        let html = render("```\nsee https://example.com\n```\n");
        assert!(!html.contains("<a "), "{html}");
    }

    #[test]
    fn code_blocks_get_a_copy_button_and_a_pre_in_text_cannot_fake_one() {
        let html = render("```\nlet x = 1;\n```\n\nnot a block: <pre>\n");
        assert_eq!(html.matches("class=\"copy-code\"").count(), 1, "{html}");
        assert!(html.contains("<div class=\"code-block\">"), "{html}");
        assert!(html.contains("not a block: &lt;pre&gt;"), "{html}");
    }

    #[test]
    fn any_text_renders_without_live_tags_or_attributes_from_it() {
        // Whatever a message says, every tag in the output is one the
        // renderer writes, and no attribute outside the known set appears.
        let allowed_tags = [
            "a",
            "p",
            "em",
            "strong",
            "del",
            "code",
            "pre",
            "div",
            "button",
            "ul",
            "ol",
            "li",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "blockquote",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "br",
            "img",
            "input",
            "sup",
            "span",
        ];
        let allowed_attributes = [
            "href",
            "rel",
            "title",
            "src",
            "alt",
            "class",
            "type",
            "aria-label",
            "disabled",
            "checked",
            "start",
        ];
        let nasty = [
            "<svg onload=alert(1)>",
            "<a href=\"javascript:x\">y</a>",
            "[z](  JaVaScRiPt:alert(1))",
            "<details open ontoggle=x>",
            "<iframe src=//evil>",
            "`<b>` <style>*{}</style>",
            "[^x\" onclick=\"y]: z\n\nref[^x\" onclick=\"y]",
            "1. a\n\n3. b\n<!-- comment -->",
        ];
        for text in nasty {
            let html = render(text);
            for (name, attributes) in tags(&html) {
                assert!(
                    allowed_tags.contains(&name.as_str()),
                    "<{name}> from {text:?}: {html}"
                );
                for key in attributes {
                    assert!(
                        allowed_attributes.contains(&key.as_str()),
                        "attribute {key} from {text:?}: {html}"
                    );
                }
            }
        }
    }

    /// The tags of HTML as the renderer writes it (every attribute value
    /// double-quoted), each with its attribute names.
    fn tags(html: &str) -> Vec<(String, Vec<String>)> {
        let mut found = Vec::new();
        let mut chars = html.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '<' {
                continue;
            }
            if chars.peek() == Some(&'/') {
                chars.next();
            }
            let name: String =
                std::iter::from_fn(|| chars.next_if(char::is_ascii_alphanumeric)).collect();
            let mut attributes = Vec::new();
            let mut key = String::new();
            let mut in_value = false;
            for c in chars.by_ref() {
                match c {
                    '"' => in_value = !in_value,
                    _ if in_value => {}
                    '>' => break,
                    '=' | ' ' | '/' => {
                        if !key.is_empty() {
                            attributes.push(std::mem::take(&mut key));
                        }
                    }
                    other => key.push(other),
                }
            }
            if !key.is_empty() {
                attributes.push(key);
            }
            found.push((name, attributes));
        }
        found
    }
}
