//! How a conversation's events are written in the event stream. Each event
//! is its JSON ([`ChatEvent`]) under its name, except one kind: a delta to
//! the reply the connection's previous delta named goes short, as only its
//! text (a JSON string) and with no `event:` line, so it arrives as the
//! stream's default type, `message` (whose own events are JSON objects). A
//! fast reply then costs a few bytes of framing per delta instead of the
//! reply's id and name each time. Both ends keep the last named reply per
//! connection; a new connection always names it again.

use super::events::ChatEvent;
use uuid::Uuid;

/// The SSE type of an event with no `event:` line: a short delta's.
pub const DEFAULT_TYPE: &str = "message";

/// Whether the event of SSE type `name` with `data` is a short delta.
fn is_short_delta(name: &str, data: &str) -> bool {
    name == DEFAULT_TYPE && data.starts_with('"')
}

/// Whether the event of SSE type `name` with `data` is a delta, in either form.
pub fn is_delta(name: &str, data: &str) -> bool {
    name == "delta" || is_short_delta(name, data)
}

/// The sending end of one connection: decides each delta's form.
#[derive(Debug, Default)]
pub struct StreamWriter {
    last_reply: Option<Uuid>,
}

impl StreamWriter {
    /// Whether `event`, sent next, goes in the short form (text only).
    pub fn sends_short(&mut self, event: &ChatEvent) -> bool {
        let ChatEvent::Delta { id, .. } = event else {
            return false;
        };
        let same = self.last_reply == Some(*id);
        self.last_reply = Some(*id);
        same
    }
}

/// The short form of a delta's `data:` (sent with no `event:` line): its
/// text as a JSON string.
pub fn short_delta_data(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The receiving end of one connection: reads events in either form.
#[derive(Debug, Default)]
pub struct StreamReader {
    last_reply: Option<Uuid>,
}

impl StreamReader {
    /// The event named `name` whose `data:` is `data`.
    pub fn read(&mut self, name: &str, data: &str) -> Result<ChatEvent, String> {
        if is_short_delta(name, data) {
            let id = self
                .last_reply
                .ok_or("a delta came before any delta named its reply")?;
            let text: String = serde_json::from_str(data).map_err(|e| e.to_string())?;
            return Ok(ChatEvent::Delta { id, text });
        }
        let event: ChatEvent = serde_json::from_str(data).map_err(|e| e.to_string())?;
        if let ChatEvent::Delta { id, .. } = &event {
            self.last_reply = Some(*id);
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(id: u128, text: &str) -> ChatEvent {
        ChatEvent::Delta {
            id: Uuid::from_u128(id),
            text: text.into(),
        }
    }

    /// The SSE type and `data:` the writer sends for each event, in order.
    fn sent(events: &[ChatEvent]) -> Vec<(&'static str, String)> {
        let mut writer = StreamWriter::default();
        events
            .iter()
            .map(|event| {
                let short = writer.sends_short(event);
                match event {
                    ChatEvent::Delta { text, .. } if short => {
                        (DEFAULT_TYPE, short_delta_data(text))
                    }
                    other => (
                        other.name(),
                        serde_json::to_string(other).expect("serializes"),
                    ),
                }
            })
            .collect()
    }

    fn written(events: &[ChatEvent]) -> Vec<String> {
        sent(events).into_iter().map(|(_, data)| data).collect()
    }

    #[test]
    fn only_a_delta_to_the_reply_named_last_is_short() {
        let title = ChatEvent::Title { title: "t".into() };
        let events = [
            delta(1, "a"),
            delta(1, "b \"quoted\"\n"),
            title.clone(),
            delta(1, "c"),
            delta(2, "x"),
            delta(1, "d"),
        ];
        let data = written(&events);
        assert!(data[0].contains("\"id\""), "the first names its reply");
        assert_eq!(data[1], r#""b \"quoted\"\n""#);
        assert!(data[2].contains("\"title\""));
        assert_eq!(data[3], r#""c""#, "another kind between keeps the reply");
        assert!(data[4].contains("\"id\""), "another reply is named");
        assert!(data[5].contains("\"id\""), "and so is the first again");
    }

    #[test]
    fn the_reader_gets_back_every_event_whole() {
        let events = [
            delta(1, "a"),
            delta(1, "b \"quoted\"\n"),
            ChatEvent::Title { title: "t".into() },
            delta(1, "c"),
            delta(2, "x"),
            delta(1, "d"),
        ];
        let mut reader = StreamReader::default();
        let sent = sent(&events);
        let deltas = sent.iter().filter(|(name, data)| is_delta(name, data));
        assert_eq!(deltas.count(), 5, "both forms are deltas, nothing else is");
        let read: Vec<ChatEvent> = sent
            .iter()
            .map(|(name, data)| reader.read(name, data).expect("reads"))
            .collect();
        assert_eq!(read, events);
    }

    #[test]
    fn a_short_delta_before_any_named_one_is_an_error() {
        let mut reader = StreamReader::default();
        assert!(reader.read("message", r#""orphan""#).is_err());
        assert!(reader.read("delta", "not json").is_err());
        assert!(reader.read("title", r#""text""#).is_err());
        assert!(!is_delta("title", r#""text""#));
    }
}
