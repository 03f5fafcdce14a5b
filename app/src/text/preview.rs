//! Short one-line previews of message text, for tooltips and labels.

/// Shortens text for a tooltip or label.
pub fn preview(text: &str, max_chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        flat
    } else {
        let cut: String = flat.chars().take(max_chars).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn previews_flatten_whitespace_and_cut_long_text() {
        assert_eq!(preview("a\n\n b", 10), "a b");
        assert_eq!(preview("abcdefghij", 4), "abcd…");
    }
}
