//! How a conversation's events are written in the event stream's `data:`
//! lines. Each event is its JSON ([`ChatEvent`]), except one kind: a delta
//! to the reply the connection's previous delta named carries only its text,
//! as a JSON string. A fast reply then costs a few bytes of framing per
//! delta instead of the reply's id each time. Both ends keep the last named
//! reply per connection; a new connection always names it again.

use super::events::ChatEvent;
use uuid::Uuid;

/// The SSE `event:` name of deltas.
const DELTA: &str = "delta";

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

/// The short form of a delta's `data:`: its text as a JSON string.
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
        if name == DELTA && data.starts_with('"') {
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

    /// What the writer puts in `data:` for each event, in order.
    fn written(events: &[ChatEvent]) -> Vec<String> {
        let mut writer = StreamWriter::default();
        events
            .iter()
            .map(|event| {
                let short = writer.sends_short(event);
                match event {
                    ChatEvent::Delta { text, .. } if short => short_delta_data(text),
                    other => serde_json::to_string(other).expect("serializes"),
                }
            })
            .collect()
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
        let read: Vec<ChatEvent> = events
            .iter()
            .zip(written(&events))
            .map(|(event, data)| reader.read(event.name(), &data).expect("reads"))
            .collect();
        assert_eq!(read, events);
    }

    #[test]
    fn a_short_delta_before_any_named_one_is_an_error() {
        let mut reader = StreamReader::default();
        assert!(reader.read("delta", r#""orphan""#).is_err());
        assert!(reader.read("delta", "not json").is_err());
        assert!(reader.read("title", r#""text""#).is_err());
    }
}
