//! Tool calls arrive in pieces: a first fragment with the call's id and
//! name, then its JSON arguments a few characters at a time, several calls
//! interleaved by index. This puts them back together.

use app::domain::model::ToolCall;
use std::collections::BTreeMap;

/// The calls of one streamed reply, as far as they have arrived.
#[derive(Debug, Default)]
pub struct ToolCallAssembly {
    calls: BTreeMap<u32, ToolCall>,
}

impl ToolCallAssembly {
    /// Adds a fragment of call `index`: the id and name when given (they
    /// come once), and more argument text.
    pub fn add(&mut self, index: u32, id: Option<&str>, name: Option<&str>, arguments: &str) {
        let call = self.calls.entry(index).or_insert_with(|| ToolCall {
            id: String::new(),
            name: String::new(),
            arguments: String::new(),
        });
        if let Some(id) = id.filter(|id| !id.is_empty()) {
            call.id = id.to_string();
        }
        if let Some(name) = name.filter(|name| !name.is_empty()) {
            call.name.push_str(name);
        }
        call.arguments.push_str(arguments);
    }

    /// Whether no fragment has arrived.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The complete calls, in index order; a call without a name is dropped,
    /// one without an id gets `call_<index>`, empty arguments become `{}`.
    pub fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_iter()
            .filter(|(_, call)| !call.name.is_empty())
            .map(|(index, mut call)| {
                if call.id.is_empty() {
                    call.id = format!("call_{index}");
                }
                if call.arguments.trim().is_empty() {
                    call.arguments = "{}".into();
                }
                call
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_fragments_become_whole_calls_in_index_order() {
        let mut assembly = ToolCallAssembly::default();
        assembly.add(1, Some("b"), Some("current_time"), "");
        assembly.add(0, Some("a"), Some("message_history"), "{\"li");
        assembly.add(1, None, None, "{}");
        assembly.add(0, None, None, "mit\": 3}");
        let calls = assembly.finish();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "message_history");
        assert_eq!(calls[0].arguments, "{\"limit\": 3}");
        assert_eq!(
            (calls[1].id.as_str(), calls[1].arguments.as_str()),
            ("b", "{}")
        );
    }

    #[test]
    fn nameless_calls_are_dropped_and_missing_parts_filled() {
        let mut assembly = ToolCallAssembly::default();
        assembly.add(0, None, None, "{}");
        assembly.add(2, None, Some("current_time"), "");
        let calls = assembly.finish();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].id, "call_2");
        assert_eq!(calls[0].arguments, "{}");
    }
}
