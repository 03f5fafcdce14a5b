//! From an uploaded file to conversations: unpack it (gzip, or the zip
//! ChatGPT's export comes in), parse the JSON, recognise whose format it
//! is, and read each conversation on its own, so one bad conversation is
//! skipped (with the reason) while the others are imported.

use super::archive::{ArchivedConversation, FORMAT_NAME, FORMAT_VERSION};
use super::json::typed_at;
use super::{chatgpt, librechat, linear_chat, open_webui, validate};
use serde_json::Value;
use std::borrow::Cow;
use std::io::Read;

/// Deepest JSON nesting read (LibreChat nests a conversation's messages
/// one level per message).
pub const MAX_JSON_DEPTH: usize = 20_000;

/// Stack of the thread a file is parsed on: deep JSON needs it.
const PARSER_STACK_BYTES: usize = 256 * 1024 * 1024;

/// What an import may unpack.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    /// Largest unpacked JSON, in bytes.
    pub max_unpacked_bytes: u64,
}

/// Whose format a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Arbor,
    OpenAiMessages,
    AnthropicMessages,
    ChatGpt,
    OpenWebUi,
    LibreChat,
}

impl SourceFormat {
    /// The name shown in the import's summary.
    pub fn label(self) -> &'static str {
        match self {
            SourceFormat::Arbor => "Arbor archive",
            SourceFormat::OpenAiMessages => "OpenAI messages",
            SourceFormat::AnthropicMessages => "Anthropic messages",
            SourceFormat::ChatGpt => "ChatGPT export",
            SourceFormat::OpenWebUi => "Open WebUI export",
            SourceFormat::LibreChat => "LibreChat export",
        }
    }
}

/// A conversation that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Which one: its position and title.
    pub conversation: String,
    pub reason: String,
}

/// A file read: its format and each conversation (valid, or why not).
#[derive(Debug)]
pub struct Decoded {
    pub format: SourceFormat,
    pub conversations: Vec<Result<ArchivedConversation, Unreadable>>,
}

/// Why a whole file cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("it unpacks to more than {limit} bytes, the largest import this Arbor accepts")]
    TooLarge { limit: u64 },
    #[error("it is not a readable {kind} file: {reason}")]
    BadArchive { kind: &'static str, reason: String },
    #[error("it is not JSON: {0}")]
    NotJson(String),
    #[error("its JSON nests deeper than {MAX_JSON_DEPTH} levels")]
    TooDeep,
    #[error("{0}")]
    UnknownFormat(String),
    #[error("it is an Arbor archive of version {found}; this Arbor reads versions up to {FORMAT_VERSION}")]
    NewerVersion { found: u64 },
}

/// Reads `bytes` as an import (on a thread with room for deep JSON).
pub fn decode(bytes: &[u8], limits: ImportLimits, now: i64) -> Result<Decoded, DecodeError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("arbor-import".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || decode_here(bytes, limits, now))
            .map_err(|e| DecodeError::BadArchive {
                kind: "import",
                reason: format!("no thread to read it on: {e}"),
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(DecodeError::BadArchive {
                    kind: "import",
                    reason: "reading it failed".into(),
                })
            })
    })
}

fn decode_here(bytes: &[u8], limits: ImportLimits, now: i64) -> Result<Decoded, DecodeError> {
    let json = unpack(bytes, limits)?;
    if nesting_depth(&json) > MAX_JSON_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&json);
    deserializer.disable_recursion_limit();
    let value: Value = serde::Deserialize::deserialize(&mut deserializer)
        .and_then(|v| deserializer.end().map(|()| v))
        .map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let decoded = read_value(&value, now);
    // Dropping a deep value recurses too: do it here, on the big stack.
    drop(value);
    decoded
}

/// The JSON inside `bytes`: as is, gunzipped, or ChatGPT's
/// `conversations.json` (or the first `.json` file) from a zip.
fn unpack(bytes: &[u8], limits: ImportLimits) -> Result<Cow<'_, [u8]>, DecodeError> {
    let limit = limits.max_unpacked_bytes;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let gzip = |e: std::io::Error| DecodeError::BadArchive {
            kind: "gzip",
            reason: e.to_string(),
        };
        return read_limited(flate2::read::MultiGzDecoder::new(bytes), limit, gzip).map(Cow::Owned);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let zip_error = |e: zip::result::ZipError| DecodeError::BadArchive {
            kind: "zip",
            reason: e.to_string(),
        };
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_error)?;
        let names: Vec<String> = archive.file_names().map(str::to_string).collect();
        let chosen = names
            .iter()
            .filter(|n| n.rsplit('/').next() == Some("conversations.json"))
            .chain(names.iter().filter(|n| n.ends_with(".json")))
            .min_by_key(|n| (!n.ends_with("conversations.json"), n.matches('/').count()))
            .ok_or_else(|| DecodeError::BadArchive {
                kind: "zip",
                reason: "it holds no conversations.json (nor any .json file)".into(),
            })?
            .clone();
        let entry = archive.by_name(&chosen).map_err(zip_error)?;
        let io = |e: std::io::Error| DecodeError::BadArchive {
            kind: "zip",
            reason: format!("{chosen}: {e}"),
        };
        return read_limited(entry, limit, io).map(Cow::Owned);
    }
    if bytes.len() as u64 > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(Cow::Borrowed(bytes))
}

/// Reads `reader` to its end, failing past `limit` bytes.
fn read_limited(
    reader: impl Read,
    limit: u64,
    error: impl Fn(std::io::Error) -> DecodeError,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(error)?;
    if out.len() as u64 > limit {
        return Err(DecodeError::TooLarge { limit });
    }
    Ok(out)
}

/// The deepest nesting of arrays and objects in a JSON text (strings skipped).
pub fn nesting_depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in json {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Recognises the format of a parsed file and reads its conversations.
fn read_value(value: &Value, now: i64) -> Result<Decoded, DecodeError> {
    if value.get("format").and_then(Value::as_str) == Some(FORMAT_NAME) {
        return read_arbor(value);
    }
    let items: Vec<&Value> = match value {
        Value::Array(items) if items.first().is_some_and(|i| i.get("role").is_none()) => {
            items.iter().collect()
        }
        _ => vec![value],
    };
    let first = items.first().copied().unwrap_or(value);
    let (format, read): (SourceFormat, Importer) = if chatgpt::recognises(first) {
        (SourceFormat::ChatGpt, chatgpt::import)
    } else if open_webui::recognises(first) {
        (SourceFormat::OpenWebUi, open_webui::import)
    } else if librechat::recognises(first) {
        (SourceFormat::LibreChat, librechat::import)
    } else if linear_chat::recognises(value) {
        let format = match linear_chat::dialect(value) {
            linear_chat::Dialect::OpenAi => SourceFormat::OpenAiMessages,
            linear_chat::Dialect::Anthropic => SourceFormat::AnthropicMessages,
        };
        return Ok(Decoded {
            format,
            conversations: vec![read_one(0, value, now, linear_chat::import)],
        });
    } else {
        return Err(DecodeError::UnknownFormat(
            "it is JSON, but in no format Arbor imports (an Arbor archive, OpenAI or \
                 Anthropic messages, ChatGPT's conversations.json, an Open WebUI or a \
                 LibreChat export)"
                .into(),
        ));
    };
    let conversations = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| read_one(i, item, now, read))
        .collect();
    Ok(Decoded {
        format,
        conversations,
    })
}

/// Reads one conversation of a format (the value, and the time now).
type Importer = fn(&Value, i64) -> Result<ArchivedConversation, String>;

/// How a conversation is named in errors: its position (from 1) and title.
fn conversation_name(index: usize, value: &Value) -> String {
    match value
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
    {
        Some(title) => format!("conversation {} (“{}”)", index + 1, title.trim()),
        None => format!("conversation {}", index + 1),
    }
}

fn read_one(
    index: usize,
    value: &Value,
    now: i64,
    read: Importer,
) -> Result<ArchivedConversation, Unreadable> {
    read(value, now)
        .and_then(validate::validated)
        .map_err(|reason| Unreadable {
            conversation: conversation_name(index, value),
            reason,
        })
}

fn read_arbor(value: &Value) -> Result<Decoded, DecodeError> {
    let version = value.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version > u64::from(FORMAT_VERSION) {
        return Err(DecodeError::NewerVersion { found: version });
    }
    if version == 0 {
        return Err(DecodeError::UnknownFormat(
            "it says it is an Arbor archive but has no valid `version`".into(),
        ));
    }
    let items = value
        .get("conversations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            DecodeError::UnknownFormat("an Arbor archive needs a `conversations` list".into())
        })?;
    let conversations = items
        .iter()
        .enumerate()
        .map(|(i, item)| read_one(i, item, 0, |value, _| typed_at("", value)))
        .collect();
    Ok(Decoded {
        format: SourceFormat::Arbor,
        conversations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LIMITS: ImportLimits = ImportLimits {
        max_unpacked_bytes: 1 << 20,
    };

    #[test]
    fn a_deep_file_is_refused_before_parsing() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(
            decode(deep.as_bytes(), LIMITS, 0).unwrap_err(),
            DecodeError::TooDeep
        );
        assert_eq!(nesting_depth(br#"{"a": "[[[", "b": [{}]}"#), 3);
        assert_eq!(nesting_depth(br#""\"[""#), 0);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b' '; 2 << 20]).expect("compresses");
        let bomb = encoder.finish().expect("compresses");
        assert!(bomb.len() < 20_000);
        assert_eq!(
            decode(&bomb, LIMITS, 0).unwrap_err(),
            DecodeError::TooLarge { limit: 1 << 20 }
        );
    }

    #[test]
    fn json_that_is_no_known_format_says_what_is_expected() {
        let error = decode(br#"{"hello": 1}"#, LIMITS, 0).unwrap_err();
        assert!(
            error.to_string().contains("ChatGPT's conversations.json"),
            "{error}"
        );
        let error = decode(b"{not json", LIMITS, 0).unwrap_err();
        assert!(error.to_string().starts_with("it is not JSON: "), "{error}");
        assert!(error.to_string().contains("line 1 column 2"), "{error}");
    }

    #[test]
    fn a_newer_arbor_archive_is_refused_by_version() {
        let error = decode(
            br#"{"format": "arbor", "version": 99, "conversations": []}"#,
            LIMITS,
            0,
        )
        .unwrap_err();
        assert_eq!(error, DecodeError::NewerVersion { found: 99 });
    }

    #[test]
    fn one_bad_conversation_is_named_and_the_others_read() {
        let file = br#"[
            {"title": "Good", "mapping": {"a": {"message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hi"]}}}}},
            {"title": "Bad", "mapping": {"a": {"message": {"content": {}}}}}
        ]"#;
        let decoded = decode(file, LIMITS, 0).expect("decodes");
        assert_eq!(decoded.format, SourceFormat::ChatGpt);
        assert!(decoded.conversations[0].is_ok());
        let bad = decoded.conversations[1].as_ref().unwrap_err();
        assert_eq!(bad.conversation, "conversation 2 (“Bad”)");
        assert_eq!(bad.reason, "mapping.a.message: missing field `author`");
    }
}
