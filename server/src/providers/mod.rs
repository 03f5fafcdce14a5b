//! Model providers: anything that turns a thread of messages into a stream
//! of text deltas. Today the built-in offline model; OpenAI-compatible and
//! Anthropic providers implement the same trait.

mod anthropic;
mod offline;
mod offline_text;
mod openai;

pub use anthropic::{Anthropic, AnthropicSettings};
pub use offline::OfflineModel;
pub use openai::OpenAiCompatible;

use app::model::Role;
use futures::Stream;
use std::pin::Pin;

/// One message of the thread a model sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMessage {
    pub role: Role,
    pub content: String,
}

/// What a provider is asked to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationRequest {
    /// The path from the root to the message being answered, oldest first.
    pub thread: Vec<ThreadMessage>,
    /// Seed for models that sample; the same seed and thread give the same reply.
    pub seed: u64,
}

/// Why a generation failed, in words fit for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProviderError(pub String);

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
}

/// A reply as it is produced, ending early with an error if the model fails.
pub type DeltaStream = Pin<Box<dyn Stream<Item = Result<Delta, ProviderError>> + Send>>;

/// The provider the configuration asks for.
pub fn from_config(
    config: &crate::config::Config,
) -> Result<std::sync::Arc<dyn Provider>, ProviderError> {
    use crate::config::ModelSource;
    Ok(match &config.model_source {
        ModelSource::Offline => std::sync::Arc::new(OfflineModel {
            token_delay: config.offline_token_delay,
            fail_after: config.offline_fail_after,
        }),
        ModelSource::OpenAiCompatible {
            base_url,
            api_key,
            model,
        } => std::sync::Arc::new(OpenAiCompatible::new(
            base_url,
            &api_key.0,
            model,
            config.connect_timeout,
        )?),
        ModelSource::Anthropic(settings) => {
            std::sync::Arc::new(Anthropic::new(settings.clone(), config.connect_timeout)?)
        }
    })
}

/// The HTTP client remote providers use.
fn http_client(connect_timeout: std::time::Duration) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| ProviderError(format!("cannot set up the HTTP client: {e}")))
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
    ProviderError(match status {
        401 | 403 => format!("the provider rejected the API key ({status}): {detail}"),
        429 => format!("the provider is rate limiting requests (429): {detail}"),
        529 => format!("the provider is overloaded (529): {detail}"),
        500..=599 => format!("the provider failed ({status}): {detail}"),
        _ => format!("the provider refused the request ({status}): {detail}"),
    })
}

/// A source of replies.
pub trait Provider: Send + Sync + 'static {
    /// The model name recorded on each reply and shown in the UI.
    fn model_name(&self) -> &str;
    /// Whether the model runs inside Arbor with no network or key.
    fn is_offline(&self) -> bool;
    /// Starts generating a reply. Dropping the stream cancels the request.
    fn generate(&self, request: GenerationRequest) -> DeltaStream;
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
        assert!(refusal(401, "bad key")
            .0
            .starts_with("the provider rejected the API key (401)"));
        assert!(refusal(503, "down").0.contains("failed (503): down"));
        let long = "word ".repeat(200);
        assert!(shorten(&long).chars().count() <= MAX_UPSTREAM_DETAIL + 1);
        assert_eq!(shorten("a\n b"), "a b");
    }
}
