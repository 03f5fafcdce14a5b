//! One event written as Server-Sent Events: its `id:`, `event:` (unless
//! it has the default type) and `data:` lines, without the optional space
//! after the colon (a byte a line, on every event) and the blank line that ends it, ready to go on the wire.

use bytes::Bytes;

/// A comment line: keeps an idle connection open through proxies.
pub const KEEP_ALIVE: &[u8] = b":\n\n";

/// The frame of an event named `name` (none: the browser's default type,
/// `message`) carrying `data` (one `data:` line per line of it), with `id`
/// as the position to resume from, if any.
pub fn sse_frame(id: Option<&str>, name: Option<&str>, data: &str) -> Bytes {
    let mut frame = String::with_capacity(data.len() + 40);
    if let Some(id) = id {
        frame.push_str("id:");
        frame.push_str(id);
        frame.push('\n');
    }
    if let Some(name) = name {
        frame.push_str("event:");
        frame.push_str(name);
        frame.push('\n');
    }
    for line in data.split('\n') {
        frame.push_str("data:");
        frame.push_str(line.strip_suffix('\r').unwrap_or(line));
        frame.push('\n');
    }
    frame.push('\n');
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_its_lines_and_a_blank_line() {
        let frame = sse_frame(Some("7-3"), Some("delta"), "{}");
        assert_eq!(&frame[..], b"id:7-3\nevent:delta\ndata:{}\n\n");
        let frame = sse_frame(None, Some("reset"), "{}");
        assert_eq!(&frame[..], b"event:reset\ndata:{}\n\n");
        let frame = sse_frame(Some("7-4"), None, r#""hi""#);
        assert_eq!(&frame[..], b"id:7-4\ndata:\"hi\"\n\n");
    }

    #[test]
    fn each_line_of_the_data_gets_its_own_data_field() {
        let frame = sse_frame(None, Some("x"), "a\nb\r\nc");
        assert_eq!(&frame[..], b"event:x\ndata:a\ndata:b\ndata:c\n\n");
    }
}
