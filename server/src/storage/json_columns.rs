//! The JSON text columns both databases keep on a message (its sampler
//! params, usage and tool calls), written and read the same way by each
//! store, so a row means the same on SQLite and PostgreSQL.

use app::domain::model::{ReplyParams, ReplyUsage, ToolCall};

/// The stored form of a node's tool calls (none: NULL).
pub fn tool_calls_text(calls: &[ToolCall]) -> Option<String> {
    if calls.is_empty() {
        None
    } else {
        serde_json::to_string(calls).ok()
    }
}

/// Tool calls read back (NULL, or a text no longer readable: none).
pub fn tool_calls_of(text: Option<String>) -> Vec<ToolCall> {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// A reply's params read back (a text no longer readable: none).
pub fn params_of(text: Option<String>) -> Option<ReplyParams> {
    text.and_then(|p| serde_json::from_str(&p).ok())
}

/// A reply's usage read back (a text no longer readable: none).
pub fn usage_of(text: Option<String>) -> Option<ReplyUsage> {
    text.and_then(|u| serde_json::from_str(&u).ok())
}
