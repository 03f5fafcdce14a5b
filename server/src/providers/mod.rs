//! Model providers: anything that turns a thread of messages into a stream
//! of text deltas: the built-in offline model, a real model run in-process
//! ([`local`]), OpenAI-compatible servers and Anthropic. Which ones exist is
//! the [`crate::catalog`]'s business.

mod anthropic;
pub mod context_fit;
pub mod local;
mod offline;
mod offline_text;
mod openai;
mod tool_call_assembly;

pub use anthropic::{Anthropic, AnthropicSettings, ANTHROPIC_PARAMS};
pub use local::{LocalModel, LocalSettings, LOCAL_PROVIDER};
pub use offline::{OfflineModel, OFFLINE_MODEL, OFFLINE_PROVIDER};
pub use openai::{OpenAiCompatible, EXTENSION_PARAMS, OPENAI_PARAMS};

use app::domain::model::{Role, ToolCall};
use app::domain::sampling::{SamplerField, SamplerParams};
use futures::future::BoxFuture;
use futures::Stream;
use std::pin::Pin;

/// One message of the thread a model sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMessage {
    pub role: Role,
    pub content: String,
    /// The tools an assistant message called.
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the call it answers.
    pub tool_call_id: Option<String>,
}

impl ThreadMessage {
    /// A plain text message.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        ThreadMessage {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A tool a model may call: its name, what it does, and the JSON Schema of
/// its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: serde_json::Value,
}

/// What a provider is asked to continue.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    /// The model's id at its provider (e.g. `llama3.2`, not `ollama/llama3.2`).
    pub model: String,
    /// The path from the root to the message being answered, oldest first.
    pub thread: Vec<ThreadMessage>,
    /// The sampler fields to send: already limited to the ones the provider
    /// supports (see [`Provider::supported_params`]).
    pub params: SamplerParams,
    /// The tools the model may call (empty: none offered).
    pub tools: Vec<ToolSpec>,
}

/// Why a generation failed: its kind (for metrics and logs) and words fit
/// for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: ProviderErrorKind,
    pub message: String,
}

impl ProviderError {
    pub fn new(kind: ProviderErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            message: message.into(),
        }
    }
}

/// The kinds of provider failure `/metrics` counts apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// Arbor's own set-up is wrong (a model naming no provider, say).
    Config,
    /// The provider could not be reached.
    Connect,
    /// The provider sent nothing for too long.
    Timeout,
    /// The API key was rejected (401, 403).
    Auth,
    /// The provider is rate limiting (429).
    RateLimit,
    /// Any other refusal of the request (4xx).
    Refused,
    /// The provider failed (5xx, or an error event mid-reply).
    Upstream,
    /// The connection broke or the stream ended before the reply did.
    Broken,
    /// The provider sent something that is not its format.
    Malformed,
    /// The generation task died (a panic).
    Crashed,
}

impl ProviderErrorKind {
    /// The label used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderErrorKind::Config => "config",
            ProviderErrorKind::Connect => "connect",
            ProviderErrorKind::Timeout => "timeout",
            ProviderErrorKind::Auth => "auth",
            ProviderErrorKind::RateLimit => "rate_limit",
            ProviderErrorKind::Refused => "refused",
            ProviderErrorKind::Upstream => "upstream",
            ProviderErrorKind::Broken => "broken",
            ProviderErrorKind::Malformed => "malformed",
            ProviderErrorKind::Crashed => "crashed",
        }
    }
}

/// Token counts a provider reports; either may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenUsage {
    pub prompt: Option<u32>,
    pub completion: Option<u32>,
}

impl TokenUsage {
    /// Takes the counts `later` knows, keeping ours for the others.
    pub fn merge(self, later: TokenUsage) -> TokenUsage {
        TokenUsage {
            prompt: later.prompt.or(self.prompt),
            completion: later.completion.or(self.completion),
        }
    }
}

/// One piece of a reply as it is produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta {
    /// More text.
    Text(String),
    /// Token counts, as far as the provider knows them.
    Usage(TokenUsage),
    /// The reply ends by calling these tools (sent once, complete).
    ToolCalls(Vec<ToolCall>),
    /// The provider is busy with other replies; this one waits its turn,
    /// with `ahead` before it. Sent now and then while waiting.
    Waiting { ahead: usize },
}

/// A reply as it is produced, ending early with an error if the model fails.
pub type DeltaStream = Pin<Box<dyn Stream<Item = Result<Delta, ProviderError>> + Send>>;

/// The HTTP client remote providers use.
fn http_client(connect_timeout: std::time::Duration) -> Result<reqwest::Client, ProviderError> {
    // TLS is rustls with the ring backend; installing it twice is harmless.
    _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Config,
                format!("cannot set up the HTTP client: {e}"),
            )
        })
}

/// Longest upstream error detail shown to the user.
const MAX_UPSTREAM_DETAIL: usize = 300;

/// An upstream error detail flattened to one line and cut to a readable length.
fn shorten(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_UPSTREAM_DETAIL {
        flat
    } else {
        let cut: String = flat.chars().take(MAX_UPSTREAM_DETAIL).collect();
        format!("{cut}…")
    }
}

/// What an HTTP error status from a provider means, for the user.
fn refusal(status: u16, detail: &str) -> ProviderError {
    let detail = shorten(detail);
    use ProviderErrorKind::{Auth, RateLimit, Refused, Upstream};
    let (kind, message) = match status {
        401 | 403 => (
            Auth,
            format!("the provider rejected the API key ({status}): {detail}"),
        ),
        429 => (
            RateLimit,
            format!("the provider is rate limiting requests (429): {detail}"),
        ),
        529 => (
            Upstream,
            format!("the provider is overloaded (529): {detail}"),
        ),
        500..=599 => (
            Upstream,
            format!("the provider failed ({status}): {detail}"),
        ),
        _ => (
            Refused,
            format!("the provider refused the request ({status}): {detail}"),
        ),
    };
    ProviderError::new(kind, message)
}

/// A source of replies: one endpoint (or the offline model) that may serve
/// several models.
pub trait Provider: Send + Sync + 'static {
    /// Whether the models run inside Arbor with no network or key.
    fn is_offline(&self) -> bool;
    /// The sampler fields this provider sends; the others are dropped.
    fn supported_params(&self) -> &[SamplerField];
    /// Whether its models run inside this server's process, on this
    /// machine's CPU (a real model, unlike the built-in offline one).
    fn runs_here(&self) -> bool {
        false
    }
    /// Whether its models can call tools.
    fn supports_tools(&self) -> bool {
        false
    }
    /// How many of the oldest messages of `request.thread` to leave out so
    /// that the prompt fits the model's context window (see
    /// [`context_fit`]). Providers that cannot count tokens send it whole.
    fn messages_to_leave_out(&self, _request: &GenerationRequest) -> Result<usize, ProviderError> {
        Ok(0)
    }
    /// Starts generating a reply. Dropping the stream cancels the request.
    fn generate(&self, request: GenerationRequest) -> DeltaStream;
    /// The model ids the endpoint itself lists, for providers that can say.
    fn list_models(&self) -> BoxFuture<'static, Result<Vec<String>, ProviderError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// Every sampler field set, for the adapters' dropped-field tests.
#[cfg(test)]
pub(crate) fn every_sampler_field() -> SamplerParams {
    SamplerParams {
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(40),
        min_p: Some(0.05),
        max_tokens: Some(100),
        frequency_penalty: Some(0.1),
        presence_penalty: Some(0.2),
        repetition_penalty: Some(1.1),
        stop: Some(vec!["END".into()]),
        seed: Some(7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_usage_fills_in_what_is_known() {
        let start = TokenUsage {
            prompt: Some(12),
            completion: Some(1),
        };
        let end = TokenUsage {
            prompt: None,
            completion: Some(9),
        };
        assert_eq!(
            start.merge(end),
            TokenUsage {
                prompt: Some(12),
                completion: Some(9)
            }
        );
    }

    #[test]
    fn refusals_name_the_cause_and_shorten_the_detail() {
        let auth = refusal(401, "bad key");
        assert!(auth
            .message
            .starts_with("the provider rejected the API key (401)"));
        assert_eq!(auth.kind, ProviderErrorKind::Auth);
        assert_eq!(refusal(429, "slow down").kind, ProviderErrorKind::RateLimit);
        let down = refusal(503, "down");
        assert!(down.message.contains("failed (503): down"));
        assert_eq!(down.kind, ProviderErrorKind::Upstream);
        let long = "word ".repeat(200);
        assert!(shorten(&long).chars().count() <= MAX_UPSTREAM_DETAIL + 1);
        assert_eq!(shorten("a\n b"), "a b");
    }
}
