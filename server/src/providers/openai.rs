//! OpenAI-compatible chat completions through `async-openai`: OpenAI,
//! Ollama, vLLM, llama.cpp, LM Studio, OpenRouter and Gemini's compatible
//! endpoint all speak this protocol. Upstream failures become a short
//! message for the user; the detail goes to the log.

use super::{
    http_client, refusal, shorten, Delta, DeltaStream, GenerationRequest, Provider, ProviderError,
    ThreadMessage, TokenUsage,
};
use app::model::Role;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    ChatCompletionResponseStream, ChatCompletionStreamOptions, CreateChatCompletionRequest,
};
use async_openai::Client;
use futures::stream::{self, StreamExt};
use std::time::Duration;

/// One OpenAI-compatible endpoint and the model to ask there.
pub struct OpenAiCompatible {
    client: Client<OpenAIConfig>,
    base_url: String,
    model: String,
}

impl OpenAiCompatible {
    /// A provider for `model` at `base_url` (ending in `/v1` for most servers).
    pub fn new(
        base_url: &str,
        api_key: &str,
        model: &str,
        connect_timeout: Duration,
    ) -> Result<Self, ProviderError> {
        let http = http_client(connect_timeout)?;
        let config = OpenAIConfig::new()
            .with_api_base(base_url)
            .with_api_key(api_key);
        Ok(OpenAiCompatible {
            client: Client::with_config(config).with_http_client(http),
            base_url: base_url.to_string(),
            model: model.to_string(),
        })
    }
}

impl Provider for OpenAiCompatible {
    fn model_name(&self) -> &str {
        &self.model
    }

    fn is_offline(&self) -> bool {
        false
    }

    /// The offline model's seed is not sent: a sampler seed is a user choice.
    fn generate(&self, request: GenerationRequest) -> DeltaStream {
        let client = self.client.clone();
        let base_url = self.base_url.clone();
        let body = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: request.thread.iter().filter_map(to_openai).collect(),
            stream_options: Some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        Box::pin(
            stream::once(async move { client.chat().create_stream(body).await }).flat_map(
                move |opened| match opened {
                    Ok(chunks) => texts(chunks).boxed(),
                    Err(error) => stream::iter([Err(describe(&error, &base_url))]).boxed(),
                },
            ),
        )
    }
}

/// A thread message in OpenAI's shape (tool messages are not sent yet).
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
            content: Some(text.into()),
            ..Default::default()
        }
        .into(),
        Role::Tool => return None,
    })
}

/// The deltas of a chunk stream (text, and the usage chunk at the end);
/// the first error ends it.
fn texts(chunks: ChatCompletionResponseStream) -> DeltaStream {
    Box::pin(stream::unfold(Some(chunks), |chunks| async move {
        let mut chunks = chunks?;
        match chunks.next().await? {
            Ok(chunk) => {
                let delta = match &chunk.usage {
                    Some(usage) => Delta::Usage(TokenUsage {
                        prompt: Some(usage.prompt_tokens),
                        completion: Some(usage.completion_tokens),
                    }),
                    None => Delta::Text(
                        chunk
                            .choices
                            .first()
                            .and_then(|choice| choice.delta.content.clone())
                            .unwrap_or_default(),
                    ),
                };
                Some((Ok(delta), Some(chunks)))
            }
            Err(error) => Some((Err(describe(&error, "")), None)),
        }
    }))
}

/// What went wrong, in words for the user.
fn describe(error: &OpenAIError, base_url: &str) -> ProviderError {
    tracing::warn!(%error, "OpenAI-compatible provider error");
    let message = match error {
        OpenAIError::ApiError(response) => {
            return refusal(response.status_code.as_u16(), &response.api_error.message)
        }
        OpenAIError::Reqwest(e) if e.is_connect() => {
            format!("cannot connect to the provider at {base_url}")
        }
        OpenAIError::Reqwest(e) if e.is_timeout() => "the provider did not answer in time".into(),
        OpenAIError::Reqwest(_) => "the connection to the provider failed".into(),
        OpenAIError::StreamError(_) => "the connection to the provider broke mid-reply".into(),
        OpenAIError::JSONDeserialize(..) => "the provider sent a malformed reply".into(),
        other => format!(
            "the provider request failed: {}",
            shorten(&other.to_string())
        ),
    };
    ProviderError(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_maps_to_openai_roles_and_skips_tool_messages() {
        let thread = [
            (Role::System, "be brief"),
            (Role::User, "hi"),
            (Role::Assistant, "hello"),
            (Role::Tool, "42"),
        ]
        .map(|(role, content)| ThreadMessage {
            role,
            content: content.into(),
        });
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
