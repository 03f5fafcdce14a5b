//! Anthropic's Messages API, spoken natively: `system` as a top-level
//! field, strictly alternating user/assistant turns, the streaming event
//! types (`content_block_delta`, `message_stop`, `error`...), the API
//! version header and optional beta headers. Upstream failures become a
//! short message for the user; the detail goes to the log.

use super::tool_call_assembly::ToolCallAssembly;
use super::ProviderErrorKind as Kind;
use super::{
    http_client, refusal, shorten, Delta, DeltaStream, GenerationRequest, Provider, ProviderError,
    ThreadMessage, TokenUsage,
};
use app::domain::model::Role;
use app::domain::sampling::SamplerField;
use eventsource_stream::Eventsource;
use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The API version Arbor speaks.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Where and how to reach Anthropic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnthropicSettings {
    /// `https://api.anthropic.com` unless proxied.
    pub base_url: String,
    pub api_key: crate::secret::Secret,
    /// The longest reply, in tokens, when no `max_tokens` is set (the API requires one).
    pub max_tokens: u32,
    /// Sent as the `anthropic-beta` header when not empty.
    pub betas: Vec<String>,
}

/// The Anthropic provider.
pub struct Anthropic {
    http: reqwest::Client,
    settings: AnthropicSettings,
}

impl Anthropic {
    pub fn new(
        settings: AnthropicSettings,
        connect_timeout: Duration,
    ) -> Result<Self, ProviderError> {
        let http = http_client(connect_timeout)?;
        Ok(Anthropic { http, settings })
    }
}

/// The sampler fields the Messages API accepts.
pub const ANTHROPIC_PARAMS: [SamplerField; 5] = [
    SamplerField::Temperature,
    SamplerField::TopP,
    SamplerField::TopK,
    SamplerField::MaxTokens,
    SamplerField::Stop,
];

/// The request body of `POST /v1/messages`.
#[derive(Debug, Serialize, PartialEq)]
struct MessagesRequest {
    model: String,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<String>,
    messages: Vec<Turn>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ToolDefinition>,
}

/// A tool as the Messages API declares it.
#[derive(Debug, Serialize, PartialEq)]
struct ToolDefinition {
    name: &'static str,
    description: &'static str,
    input_schema: serde_json::Value,
}

/// One turn: its content blocks. A turn of a single text block is sent as
/// a plain string.
#[derive(Debug, PartialEq)]
struct Turn {
    role: &'static str,
    content: Vec<Block>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: serde_json::Value,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
    },
}

impl Serialize for Turn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut turn = serializer.serialize_struct("Turn", 2)?;
        turn.serialize_field("role", self.role)?;
        match self.content.as_slice() {
            [Block::Text { text }] => turn.serialize_field("content", text)?,
            blocks => turn.serialize_field("content", blocks)?,
        }
        turn.end()
    }
}

/// The content blocks of one thread message.
fn blocks_of(message: &ThreadMessage) -> Vec<Block> {
    if message.role == Role::Tool {
        return match &message.tool_call_id {
            Some(id) => vec![Block::ToolResult {
                tool_use_id: id.clone(),
                content: message.content.clone(),
            }],
            None => Vec::new(),
        };
    }
    let text = (!message.content.is_empty()).then(|| Block::Text {
        text: message.content.clone(),
    });
    let calls = message.tool_calls.iter().map(|call| Block::ToolUse {
        id: call.id.clone(),
        name: call.name.clone(),
        // Arguments that are not a JSON object are sent as an empty input.
        input: serde_json::from_str::<serde_json::Value>(&call.arguments)
            .ok()
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({})),
    });
    text.into_iter().chain(calls).collect()
}

/// Builds the body: system messages become the top-level `system`; tool
/// results go in user turns; consecutive messages of one role are merged
/// into one turn (texts joined by a blank line), since the API wants user
/// and assistant to alternate.
fn request_body(settings: &AnthropicSettings, request: &GenerationRequest) -> MessagesRequest {
    let thread = &request.thread;
    let params = &request.params;
    let mut system: Vec<&str> = Vec::new();
    let mut messages: Vec<Turn> = Vec::new();
    for message in thread {
        let role = match message.role {
            Role::System => {
                system.push(&message.content);
                continue;
            }
            Role::User | Role::Tool => "user",
            Role::Assistant => "assistant",
        };
        let blocks = blocks_of(message);
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some(last) if last.role == role => {
                for block in blocks {
                    match (last.content.last_mut(), block) {
                        (Some(Block::Text { text }), Block::Text { text: more }) => {
                            text.push_str("\n\n");
                            text.push_str(&more);
                        }
                        (_, block) => last.content.push(block),
                    }
                }
            }
            _ => messages.push(Turn {
                role,
                content: blocks,
            }),
        }
    }
    // A reply being continued ends the list; the API refuses a final
    // assistant turn that ends with white space.
    if let Some(last) = messages.last_mut().filter(|t| t.role == "assistant") {
        if let Some(Block::Text { text }) = last.content.last_mut() {
            text.truncate(text.trim_end().len());
        }
    }
    MessagesRequest {
        model: request.model.clone(),
        max_tokens: params.max_tokens.unwrap_or(settings.max_tokens),
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        messages,
        stream: true,
        temperature: params.temperature,
        top_p: params.top_p,
        top_k: params.top_k,
        stop_sequences: params.stop.clone().unwrap_or_default(),
        tools: request
            .tools
            .iter()
            .map(|tool| ToolDefinition {
                name: tool.name,
                description: tool.description,
                input_schema: tool.parameters.clone(),
            })
            .collect(),
    }
}

/// The streaming events Arbor reads; the others are skipped.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StreamEvent {
    MessageStart {
        message: StartedMessage,
    },
    ContentBlockStart {
        index: u32,
        content_block: StartedBlock,
    },
    ContentBlockDelta {
        #[serde(default)]
        index: u32,
        delta: BlockDelta,
    },
    MessageDelta {
        usage: Option<UsageCounts>,
    },
    MessageStop,
    Error {
        error: ApiError,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct StartedMessage {
    usage: Option<UsageCounts>,
}

#[derive(Debug, Deserialize)]
struct UsageCounts {
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
}

impl UsageCounts {
    fn delta(&self) -> Delta {
        Delta::Usage(TokenUsage {
            prompt: self.input_tokens,
            completion: self.output_tokens,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartedBlock {
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ApiError,
}

impl Provider for Anthropic {
    fn is_offline(&self) -> bool {
        false
    }

    fn supported_params(&self) -> &[SamplerField] {
        &ANTHROPIC_PARAMS
    }

    fn supports_tools(&self) -> bool {
        true
    }

    fn generate(&self, request: GenerationRequest) -> DeltaStream {
        let settings = &self.settings;
        let mut call = self
            .http
            .post(format!("{}/v1/messages", settings.base_url))
            .header("x-api-key", &settings.api_key.0)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&request_body(settings, &request));
        if !settings.betas.is_empty() {
            call = call.header("anthropic-beta", settings.betas.join(","));
        }
        let base_url = settings.base_url.clone();
        Box::pin(
            stream::once(async move { open(call.send().await, &base_url).await }).flat_map(
                |opened| match opened {
                    Ok(events) => events,
                    Err(error) => stream::iter([Err(error)]).boxed(),
                },
            ),
        )
    }
}

/// Checks the response status and turns the body into text deltas.
async fn open(
    response: Result<reqwest::Response, reqwest::Error>,
    base_url: &str,
) -> Result<BoxStream<'static, Result<Delta, ProviderError>>, ProviderError> {
    let response = response.map_err(|error| {
        tracing::warn!(%error, "Anthropic request failed");
        if error.is_connect() {
            ProviderError::new(
                Kind::Connect,
                format!("cannot connect to the provider at {base_url}"),
            )
        } else if error.is_timeout() {
            ProviderError::new(Kind::Timeout, "the provider did not answer in time")
        } else {
            ProviderError::new(Kind::Connect, "the connection to the provider failed")
        }
    })?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        let body = response.text().await.unwrap_or_default();
        tracing::warn!(status, %body, "Anthropic refused the request");
        let detail = serde_json::from_str::<ErrorBody>(&body)
            .map(|b| format!("{}: {}", b.error.kind, b.error.message))
            .unwrap_or(body);
        return Err(refusal(status, &detail));
    }
    let events = response.bytes_stream().eventsource();
    let start = Some((events, ToolCallAssembly::default()));
    Ok(stream::unfold(start, |state| async move {
        let (mut events, mut calls) = state?;
        loop {
            let item = match events.next().await {
                None => {
                    let error = "the provider's stream ended before the reply finished";
                    return Some((Err(ProviderError::new(Kind::Broken, error)), None));
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "Anthropic stream broke");
                    let error = ProviderError::new(
                        Kind::Broken,
                        "the connection to the provider broke mid-reply",
                    );
                    return Some((Err(error), None));
                }
                Some(Ok(event)) => event,
            };
            match serde_json::from_str::<StreamEvent>(&item.data) {
                Ok(StreamEvent::ContentBlockDelta {
                    delta: BlockDelta::TextDelta { text },
                    ..
                }) => return Some((Ok(Delta::Text(text)), Some((events, calls)))),
                Ok(StreamEvent::ContentBlockStart {
                    index,
                    content_block: StartedBlock::ToolUse { id, name },
                }) => calls.add(index, Some(&id), Some(&name), ""),
                Ok(StreamEvent::ContentBlockDelta {
                    index,
                    delta: BlockDelta::InputJsonDelta { partial_json },
                }) => calls.add(index, None, None, &partial_json),
                Ok(StreamEvent::MessageStart {
                    message: StartedMessage { usage: Some(usage) },
                })
                | Ok(StreamEvent::MessageDelta { usage: Some(usage) }) => {
                    return Some((Ok(usage.delta()), Some((events, calls))))
                }
                Ok(StreamEvent::MessageStop) if calls.is_empty() => return None,
                Ok(StreamEvent::MessageStop) => {
                    return Some((Ok(Delta::ToolCalls(calls.finish())), None))
                }
                Ok(StreamEvent::Error { error }) => {
                    let detail = shorten(&format!("{}: {}", error.kind, error.message));
                    let error = ProviderError::new(
                        Kind::Upstream,
                        format!("the provider failed mid-reply: {detail}"),
                    );
                    return Some((Err(error), None));
                }
                Ok(_) => continue,
                Err(error) => {
                    tracing::warn!(%error, data = %item.data, "malformed Anthropic event");
                    let error =
                        ProviderError::new(Kind::Malformed, "the provider sent a malformed reply");
                    return Some((Err(error), None));
                }
            }
        }
    })
    .boxed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ThreadMessage;

    fn settings() -> AnthropicSettings {
        AnthropicSettings {
            base_url: "http://127.0.0.1:1".into(),
            api_key: crate::secret::Secret("k".into()),
            max_tokens: 1024,
            betas: Vec::new(),
        }
    }

    fn message(role: Role, content: &str) -> ThreadMessage {
        ThreadMessage::new(role, content)
    }

    fn request(thread: &[ThreadMessage]) -> GenerationRequest {
        GenerationRequest {
            model: "claude-test".into(),
            thread: thread.to_vec(),
            params: Default::default(),
            tools: Vec::new(),
        }
    }

    #[test]
    fn unsupported_sampler_fields_are_dropped_and_the_rest_sent() {
        let every = crate::providers::every_sampler_field();
        let mut sent = request(&[message(Role::User, "hi")]);
        sent.params = every.retain(&ANTHROPIC_PARAMS);
        let json = serde_json::to_value(request_body(&settings(), &sent)).expect("serializes");
        assert_eq!(json["top_k"], 40);
        assert_eq!(json["max_tokens"], 100);
        assert_eq!(json["stop_sequences"], serde_json::json!(["END"]));
        assert!(json["temperature"].as_f64().is_some());
        for dropped in [
            "min_p",
            "frequency_penalty",
            "presence_penalty",
            "repetition_penalty",
            "seed",
            "stop",
        ] {
            assert!(json.get(dropped).is_none(), "{dropped} sent");
        }
    }

    #[test]
    fn system_messages_become_the_top_level_system_field() {
        let body = request_body(
            &settings(),
            &request(&[
                message(Role::System, "be brief"),
                message(Role::User, "hi"),
                message(Role::Assistant, "hello"),
            ]),
        );
        let json = serde_json::to_value(&body).expect("serializes");
        assert_eq!(json["system"], "be brief");
        assert_eq!(json["max_tokens"], 1024);
        assert_eq!(json["stream"], true);
        assert_eq!(
            json["messages"],
            serde_json::json!([
                { "role": "user", "content": "hi" },
                { "role": "assistant", "content": "hello" },
            ])
        );
    }

    #[test]
    fn consecutive_turns_of_one_role_are_merged_and_tool_messages_skipped() {
        let body = request_body(
            &settings(),
            &request(&[
                message(Role::User, "one"),
                message(Role::Tool, "42"),
                message(Role::User, "two"),
            ]),
        );
        assert_eq!(
            body.messages,
            vec![Turn {
                role: "user",
                content: vec![Block::Text {
                    text: "one\n\ntwo".into()
                }]
            }]
        );
        assert_eq!(body.system, None);
    }

    #[test]
    fn tool_calls_and_results_become_tool_use_and_tool_result_blocks() {
        let mut asking = message(Role::Assistant, "");
        asking.tool_calls = vec![app::domain::model::ToolCall {
            id: "toolu_1".into(),
            name: "current_time".into(),
            arguments: "{}".into(),
        }];
        let mut result = message(Role::Tool, "{\"unix_ms\":1}");
        result.tool_call_id = Some("toolu_1".into());
        let mut sent = request(&[message(Role::User, "time?"), asking, result]);
        sent.tools = crate::chat::tools::specs();
        let json = serde_json::to_value(request_body(&settings(), &sent)).expect("serializes");
        assert_eq!(
            json["messages"],
            serde_json::json!([
                { "role": "user", "content": "time?" },
                { "role": "assistant", "content": [
                    { "type": "tool_use", "id": "toolu_1", "name": "current_time", "input": {} }
                ] },
                { "role": "user", "content": [
                    { "type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"unix_ms\":1}" }
                ] },
            ])
        );
        assert_eq!(json["tools"][2]["name"], "current_time");
        assert_eq!(json["tools"][2]["input_schema"]["type"], "object");
    }

    #[test]
    fn stream_events_are_read_and_unknown_ones_skipped() {
        let delta =
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#;
        assert!(matches!(
            serde_json::from_str::<StreamEvent>(delta),
            Ok(StreamEvent::ContentBlockDelta { delta: BlockDelta::TextDelta { ref text }, .. }) if text == "Hi"
        ));
        let ping = r#"{"type":"ping"}"#;
        assert!(matches!(
            serde_json::from_str::<StreamEvent>(ping),
            Ok(StreamEvent::Other)
        ));
        let error =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert!(matches!(
            serde_json::from_str::<StreamEvent>(error),
            Ok(StreamEvent::Error { .. })
        ));
    }
}
