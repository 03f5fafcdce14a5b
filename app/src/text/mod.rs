//! Turning text into what the page shows: markdown to safe HTML, code
//! highlighting and painting its colours, word-level diffs, the thread a reply's model was sent,
//! and the short one-line previews of a message.

#[cfg(feature = "ssr")]
pub mod code_highlight;
pub mod code_paint;
pub mod markdown;
pub mod model_context;
pub mod preview;
pub mod word_diff;
