//! OpenAI-compatible chat completions through `async-openai`: OpenAI,
//! Ollama, vLLM, llama.cpp, LM Studio, OpenRouter and Gemini's compatible
//! endpoint all speak this protocol. Upstream failures become a short
//! message for the user; the detail goes to the log.

use super::tool_call_assembly::ToolCallAssembly;
use super::ProviderErrorKind as Kind;
use super::{
    http_client, refusal, shorten, Delta, DeltaStream, GenerationRequest, Provider, ProviderError,
    ThreadMessage, TokenUsage,
};
use app::domain::model::Role;
use app::domain::sampling::{SamplerField, SamplerParams};
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestUserMessage, ChatCompletionStreamOptions, ChatCompletionTool,
    ChatCompletionTools, CreateChatCompletionRequest, CreateChatCompletionStreamResponse,
    FunctionCall, FunctionObject, StopConfiguration,
};
use async_openai::Client;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use std::time::Duration;

/// The sampler fields of OpenAI's own API.
pub const OPENAI_PARAMS: [SamplerField; 7] = [
    SamplerField::Temperature,
    SamplerField::TopP,
    SamplerField::MaxTokens,
    SamplerField::FrequencyPenalty,
    SamplerField::PresencePenalty,
    SamplerField::Stop,
    SamplerField::Seed,
];

/// The fields beyond OpenAI's that some compatible servers (vLLM,
/// llama.cpp, LM Studio, OpenRouter) accept; a provider sends them only
/// when its configuration lists them.
pub const EXTENSION_PARAMS: [SamplerField; 3] = [
    SamplerField::TopK,
    SamplerField::MinP,
    SamplerField::RepetitionPenalty,
];

/// One OpenAI-compatible endpoint.
pub struct OpenAiCompatible {
    client: Client<OpenAIConfig>,
    base_url: String,
    supported: Vec<SamplerField>,
}

impl OpenAiCompatible {
    /// A provider at `base_url` (ending in `/v1` for most servers) that
    /// also sends `extensions` (a subset of [`EXTENSION_PARAMS`]).
    pub fn new(
        base_url: &str,
        api_key: &str,
        extensions: &[SamplerField],
        connect_timeout: Duration,
    ) -> Result<Self, ProviderError> {
        let http = http_client(connect_timeout)?;
        let config = OpenAIConfig::new()
            .with_api_base(base_url)
            .with_api_key(api_key);
        let supported = OPENAI_PARAMS
            .into_iter()
            .chain(
                EXTENSION_PARAMS
                    .into_iter()
                    .filter(|f| extensions.contains(f)),
            )
            .collect();
        Ok(OpenAiCompatible {
            client: Client::with_config(config).with_http_client(http),
            base_url: base_url.to_string(),
            supported,
        })
    }
}

/// How long listing an endpoint's models may take.
const LIST_MODELS_TIMEOUT: Duration = Duration::from_secs(5);

/// The part of `GET /models` Arbor reads (servers differ in the rest).
#[derive(serde::Deserialize)]
struct ModelList {
    data: Vec<ListedModel>,
}

#[derive(serde::Deserialize)]
struct ListedModel {
    id: String,
}

impl Provider for OpenAiCompatible {
    fn is_offline(&self) -> bool {
        false
    }

    fn supported_params(&self) -> &[SamplerField] {
        &self.supported
    }

    fn supports_tools(&self) -> bool {
        true
    }

    fn generate(&self, request: GenerationRequest) -> DeltaStream {
        let client = self.client.clone();
        let base_url = self.base_url.clone();
        let body = request_body(&request);
        Box::pin(
            stream::once(async move {
                client
                    .chat()
                    .create_stream_byot::<_, CreateChatCompletionStreamResponse>(body)
                    .await
            })
            .flat_map(move |opened| match opened {
                Ok(chunks) => texts(chunks).boxed(),
                Err(error) => stream::iter([Err(describe(&error, &base_url))]).boxed(),
            }),
        )
    }

    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, ProviderError>> {
        let client = self.client.clone();
        let base_url = self.base_url.clone();
        Box::pin(async move {
            let listed = tokio::time::timeout(
                LIST_MODELS_TIMEOUT,
                client.models().list_byot::<ModelList>(),
            )
            .await
            .map_err(|_| {
                ProviderError::new(
                    Kind::Timeout,
                    "the provider did not list its models in time",
                )
            })?
            .map_err(|error| describe(&error, &base_url))?;
            Ok(listed.data.into_iter().map(|m| m.id).collect())
        })
    }
}

/// The JSON body of a streaming chat completion: OpenAI's fields through
/// `async-openai`'s types, plus `max_tokens`, `seed` and the extension
/// fields when set (the request's params hold only fields this provider
/// supports).
fn request_body(request: &GenerationRequest) -> serde_json::Value {
    let params = &request.params;
    let body = CreateChatCompletionRequest {
        model: request.model.clone(),
        messages: request.thread.iter().filter_map(to_openai).collect(),
        stream: Some(true),
        stream_options: Some(ChatCompletionStreamOptions {
            include_usage: Some(true),
            ..Default::default()
        }),
        temperature: params.temperature,
        top_p: params.top_p,
        frequency_penalty: params.frequency_penalty,
        presence_penalty: params.presence_penalty,
        stop: params.stop.clone().map(StopConfiguration::StringArray),
        tools: (!request.tools.is_empty()).then(|| {
            request
                .tools
                .iter()
                .map(|tool| {
                    ChatCompletionTools::Function(ChatCompletionTool {
                        function: FunctionObject {
                            name: tool.name.to_string(),
                            description: Some(tool.description.to_string()),
                            parameters: Some(tool.parameters.clone()),
                            strict: None,
                        },
                    })
                })
                .collect()
        }),
        ..Default::default()
    };
    let mut json = serde_json::to_value(body).unwrap_or_default();
    let SamplerParams {
        top_k,
        min_p,
        repetition_penalty,
        max_tokens,
        seed,
        ..
    } = params;
    if let Some(object) = json.as_object_mut() {
        // `max_tokens` and `seed` are deprecated in `async-openai`'s types
        // (OpenAI prefers `max_completion_tokens`), yet `max_tokens` is the
        // one every compatible server understands.
        let extensions = [
            ("max_tokens", max_tokens.map(serde_json::Value::from)),
            ("seed", seed.map(serde_json::Value::from)),
            ("top_k", top_k.map(serde_json::Value::from)),
            ("min_p", min_p.map(serde_json::Value::from)),
            (
                "repetition_penalty",
                repetition_penalty.map(serde_json::Value::from),
            ),
        ];
        for (name, value) in extensions {
            if let Some(value) = value {
                object.insert(name.into(), value);
            }
        }
    }
    json
}

/// A thread message in OpenAI's shape; a tool result without the id of
/// its call cannot be sent and is skipped.
fn to_openai(message: &ThreadMessage) -> Option<ChatCompletionRequestMessage> {
    let text = message.content.clone();
    Some(match message.role {
        Role::System => ChatCompletionRequestSystemMessage {
            content: text.into(),
            name: None,
        }
        .into(),
        Role::User => ChatCompletionRequestUserMessage {
            content: text.into(),
            name: None,
        }
        .into(),
        Role::Assistant => ChatCompletionRequestAssistantMessage {
            content: (!text.is_empty() || message.tool_calls.is_empty()).then(|| text.into()),
            tool_calls: (!message.tool_calls.is_empty()).then(|| {
                message
                    .tool_calls
                    .iter()
                    .map(|call| {
                        ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                            id: call.id.clone(),
                            function: FunctionCall {
                                name: call.name.clone(),
                                arguments: call.arguments.clone(),
                            },
                        })
                    })
                    .collect()
            }),
            ..Default::default()
        }
        .into(),
        Role::Tool => ChatCompletionRequestToolMessage {
            content: text.into(),
            tool_call_id: message.tool_call_id.clone()?,
        }
        .into(),
    })
}

type ChunkStream = std::pin::Pin<
    Box<dyn futures::Stream<Item = Result<CreateChatCompletionStreamResponse, OpenAIError>> + Send>,
>;

/// The deltas of a chunk stream: text as it comes, the usage chunk, and the
/// tool calls (assembled from their fragments) when the stream ends. The
/// first error ends it.
fn texts(chunks: ChunkStream) -> DeltaStream {
    let start = Some((chunks, ToolCallAssembly::default()));
    Box::pin(stream::unfold(start, |state| async move {
        let (mut chunks, mut calls) = state?;
        loop {
            let chunk = match chunks.next().await {
                None if calls.is_empty() => return None,
                None => return Some((Ok(Delta::ToolCalls(calls.finish())), None)),
                Some(Err(error)) => return Some((Err(describe(&error, "")), None)),
                Some(Ok(chunk)) => chunk,
            };
            if let Some(usage) = &chunk.usage {
                let usage = Delta::Usage(TokenUsage {
                    prompt: Some(usage.prompt_tokens),
                    completion: Some(usage.completion_tokens),
                });
                return Some((Ok(usage), Some((chunks, calls))));
            }
            let Some(choice) = chunk.choices.into_iter().next() else {
                continue;
            };
            for piece in choice.delta.tool_calls.unwrap_or_default() {
                let function = piece.function.unwrap_or_default();
                calls.add(
                    piece.index,
                    piece.id.as_deref(),
                    function.name.as_deref(),
                    function.arguments.as_deref().unwrap_or_default(),
                );
            }
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                return Some((Ok(Delta::Text(text)), Some((chunks, calls))));
            }
        }
    }))
}

/// What went wrong, in words for the user.
fn describe(error: &OpenAIError, base_url: &str) -> ProviderError {
    tracing::warn!(%error, "OpenAI-compatible provider error");
    let (kind, message) = match error {
        OpenAIError::ApiError(response) => {
            return refusal(response.status_code.as_u16(), &response.api_error.message)
        }
        OpenAIError::Reqwest(e) if e.is_connect() => (
            Kind::Connect,
            format!("cannot connect to the provider at {base_url}"),
        ),
        OpenAIError::Reqwest(e) if e.is_timeout() => {
            (Kind::Timeout, "the provider did not answer in time".into())
        }
        OpenAIError::Reqwest(_) => (
            Kind::Connect,
            "the connection to the provider failed".into(),
        ),
        OpenAIError::StreamError(_) => (
            Kind::Broken,
            "the connection to the provider broke mid-reply".into(),
        ),
        OpenAIError::JSONDeserialize(..) => (
            Kind::Malformed,
            "the provider sent a malformed reply".into(),
        ),
        other => (
            Kind::Upstream,
            format!(
                "the provider request failed: {}",
                shorten(&other.to_string())
            ),
        ),
    };
    ProviderError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(params: SamplerParams) -> GenerationRequest {
        GenerationRequest {
            model: "m".into(),
            thread: vec![ThreadMessage::new(Role::User, "hi")],
            params,
            tools: Vec::new(),
        }
    }

    fn provider(extensions: &[SamplerField]) -> OpenAiCompatible {
        OpenAiCompatible::new(
            "http://127.0.0.1:1/v1",
            "",
            extensions,
            Duration::from_secs(1),
        )
        .expect("client builds")
    }

    #[test]
    fn plain_openai_drops_the_extension_fields() {
        let openai = provider(&[]);
        let params = crate::providers::every_sampler_field().retain(openai.supported_params());
        let body = request_body(&request(params));
        for field in EXTENSION_PARAMS {
            assert!(body.get(field.name()).is_none(), "{} sent", field.name());
        }
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["stop"], serde_json::json!(["END"]));
        assert_eq!(body["seed"], 7);
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
    }

    #[test]
    fn configured_extensions_are_sent_and_unset_fields_never_are() {
        let local = provider(&[SamplerField::TopK, SamplerField::MinP]);
        let params = crate::providers::every_sampler_field().retain(local.supported_params());
        let body = request_body(&request(params));
        assert_eq!(body["top_k"], 40);
        assert!(body["min_p"].as_f64().is_some());
        assert!(body.get("repetition_penalty").is_none());
        let bare = request_body(&request(SamplerParams::default()));
        for field in SamplerField::ALL {
            assert!(bare.get(field.name()).is_none(), "{} sent", field.name());
        }
    }

    #[test]
    fn the_thread_maps_to_openai_roles_and_skips_tool_messages() {
        let thread = [
            (Role::System, "be brief"),
            (Role::User, "hi"),
            (Role::Assistant, "hello"),
            (Role::Tool, "42"),
        ]
        .map(|(role, content)| ThreadMessage::new(role, content));
        let messages: Vec<_> = thread.iter().filter_map(to_openai).collect();
        let json = serde_json::to_value(&messages).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!([
                { "role": "system", "content": "be brief" },
                { "role": "user", "content": "hi" },
                { "role": "assistant", "content": "hello" },
            ])
        );
    }
}
