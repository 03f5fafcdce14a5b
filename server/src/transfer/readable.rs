//! Content Arbor has no node for (images, audio, files, reasoning, tool
//! output), turned into readable text so an import keeps it visible.

use serde_json::Value;

/// Longest part of a `data:` URL kept in the text that stands for it.
const DATA_URL_PREFIX: usize = 40;

/// `[image: …]` for an image given by URL (a `data:` URL is shortened).
pub fn image(url: &str) -> String {
    if url.starts_with("data:") && url.len() > DATA_URL_PREFIX {
        let kind = url
            .trim_start_matches("data:")
            .split([';', ','])
            .next()
            .unwrap_or("image");
        embedded_image(kind)
    } else {
        format!("[image: {url}]")
    }
}

/// `[image: embedded …]` for an image sent inline, by its media type.
pub fn embedded_image(kind: &str) -> String {
    format!("[image: embedded {kind}]")
}

/// Reasoning shown as a quoted block headed "Thinking".
pub fn thinking(text: &str) -> String {
    let quoted: Vec<String> = text.lines().map(|line| format!("> {line}")).collect();
    format!("> **Thinking**\n>\n{}", quoted.join("\n"))
}

/// A fenced code block (the fence grows when the code holds one).
pub fn code_block(language: &str, code: &str) -> String {
    let mut fence = "```".to_string();
    while code.contains(&fence) {
        fence.push('`');
    }
    format!("{fence}{language}\n{code}\n{fence}")
}

/// Any other content: its kind and its fields as pretty JSON.
pub fn unknown(kind: &str, value: &Value) -> String {
    let json = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("[{kind}]\n{}", code_block("json", &json))
}

/// The string at `key`, if there is one.
pub fn text_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_are_named_not_copied() {
        let url = format!("data:image/png;base64,{}", "A".repeat(500));
        assert_eq!(image(&url), "[image: embedded image/png]");
        assert_eq!(
            image("https://x.test/a.png"),
            "[image: https://x.test/a.png]"
        );
    }

    #[test]
    fn a_code_block_fence_outgrows_the_code() {
        assert_eq!(code_block("", "a ``` b"), "````\na ``` b\n````");
        assert_eq!(code_block("py", "x = 1"), "```py\nx = 1\n```");
    }

    #[test]
    fn unknown_content_keeps_its_fields() {
        let text = unknown("audio", &serde_json::json!({"duration": 3}));
        assert!(text.starts_with("[audio]\n```json"));
        assert!(text.contains("\"duration\": 3"));
    }

    #[test]
    fn thinking_is_quoted() {
        assert_eq!(thinking("a\nb"), "> **Thinking**\n>\n> a\n> b");
    }
}
