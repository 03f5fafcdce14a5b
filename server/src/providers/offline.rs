//! The built-in offline model: writes a deterministic markdown reply token
//! by token at a configurable pace, and can be told to fail mid-stream. Of
//! the sampler fields it honours `seed` (which reply) and `max_tokens`.

use super::offline_text::{compose_reply, split_tokens};
use super::{
    Delta, DeltaStream, GenerationRequest, Provider, ProviderError, ProviderErrorKind, TokenUsage,
};
use app::domain::model::Role;
use app::domain::sampling::SamplerField;
use futures::stream;
use std::time::Duration;

/// The offline model and its settings.
#[derive(Debug, Clone)]
pub struct OfflineModel {
    /// Pause before each token (zero streams as fast as the receiver reads).
    pub token_delay: Duration,
    /// When set, the reply fails after this many tokens (for tests of error handling).
    pub fail_after: Option<usize>,
    /// Replies go on with further paragraphs until they have at least this
    /// many tokens (for benchmarks of long replies; 0: one paragraph set).
    pub min_tokens: usize,
}

/// The provider name of the offline model.
pub const OFFLINE_PROVIDER: &str = "offline";
/// The offline model's id.
pub const OFFLINE_MODEL: &str = "arbor-offline";

impl Provider for OfflineModel {
    fn is_offline(&self) -> bool {
        true
    }

    fn supported_params(&self) -> &[SamplerField] {
        &[SamplerField::Seed, SamplerField::MaxTokens]
    }

    fn generate(&self, request: GenerationRequest) -> DeltaStream {
        let prompt = request
            .thread
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.as_str())
            .unwrap_or_default();
        let reply = compose_reply(prompt, request.params.seed.unwrap_or(0));
        // A thread ending with the model's own words asks it to go on: the
        // rest of the same reply when those words are its start.
        let reply = match request.thread.last() {
            Some(last) if last.role == Role::Assistant => match reply.strip_prefix(&last.content) {
                Some(rest) => rest.to_string(),
                None => format!("\n\n{reply}"),
            },
            _ => reply,
        };
        let mut tokens = split_tokens(&reply);
        if tokens.len() < self.min_tokens {
            let mut next_seed = request.params.seed.unwrap_or(0);
            while tokens.len() < self.min_tokens {
                next_seed = next_seed.wrapping_add(1);
                tokens.push("\n\n".into());
                tokens.extend(split_tokens(&compose_reply(prompt, next_seed)));
            }
            tokens.truncate(self.min_tokens);
        }
        if let Some(limit) = request.params.max_tokens {
            tokens.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        // The model counts in its own tokens: words of the thread and of the reply.
        let usage = TokenUsage {
            prompt: Some(count(
                request
                    .thread
                    .iter()
                    .map(|m| split_tokens(&m.content).len()),
            )),
            completion: Some(count([tokens.len()])),
        };
        let delay = self.token_delay;
        let fail_after = self.fail_after;
        let pieces = tokens
            .into_iter()
            .map(Delta::Text)
            .chain([Delta::Usage(usage)])
            .enumerate();
        Box::pin(stream::unfold(
            (pieces, false),
            move |(mut pieces, failed)| async move {
                if failed {
                    return None;
                }
                let (index, piece) = pieces.next()?;
                if let Delta::Text(_) = piece {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if fail_after == Some(index) {
                        let error = ProviderError::new(
                            ProviderErrorKind::Upstream,
                            format!(
                                "the offline model was configured to fail after {index} tokens"
                            ),
                        );
                        return Some((Err(error), (pieces, true)));
                    }
                }
                Some((Ok(piece), (pieces, false)))
            },
        ))
    }
}

fn count(sizes: impl IntoIterator<Item = usize>) -> u32 {
    u32::try_from(sizes.into_iter().sum::<usize>()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ThreadMessage;
    use futures::StreamExt;

    fn request(seed: u64) -> GenerationRequest {
        GenerationRequest {
            model: OFFLINE_MODEL.into(),
            thread: vec![ThreadMessage::new(Role::User, "plant a tree")],
            params: app::domain::sampling::SamplerParams {
                seed: Some(seed),
                ..Default::default()
            },
            tools: Vec::new(),
        }
    }

    #[tokio::test]
    async fn streams_the_composed_reply_token_by_token() {
        let model = OfflineModel {
            token_delay: Duration::ZERO,
            fail_after: None,
            min_tokens: 0,
        };
        let parts: Vec<Delta> = model
            .generate(request(5))
            .map(|t| t.expect("no failure configured"))
            .collect()
            .await;
        let text: Vec<String> = parts
            .iter()
            .filter_map(|p| match p {
                Delta::Text(t) => Some(t.clone()),
                Delta::Usage(_) | Delta::ToolCalls(_) | Delta::Waiting { .. } => None,
            })
            .collect();
        assert!(text.len() > 30);
        assert_eq!(text.concat(), compose_reply("plant a tree", 5));
        assert_eq!(
            parts.last(),
            Some(&Delta::Usage(TokenUsage {
                prompt: Some(3),
                completion: Some(text.len() as u32),
            }))
        );
    }

    #[tokio::test]
    async fn a_thread_ending_with_its_own_words_gets_the_rest_of_the_reply() {
        let model = OfflineModel {
            token_delay: Duration::ZERO,
            fail_after: None,
            min_tokens: 0,
        };
        let full = compose_reply("plant a tree", 5);
        let start: String = full.chars().take(40).collect();
        let mut continued = request(5);
        continued
            .thread
            .push(ThreadMessage::new(Role::Assistant, start.clone()));
        let rest: String = model
            .generate(continued)
            .filter_map(|d| async move {
                match d {
                    Ok(Delta::Text(text)) => Some(text),
                    _ => None,
                }
            })
            .collect::<Vec<_>>()
            .await
            .concat();
        assert_eq!(format!("{start}{rest}"), full);
    }

    #[test]
    fn only_seed_and_max_tokens_are_kept() {
        let model = OfflineModel {
            token_delay: Duration::ZERO,
            fail_after: None,
            min_tokens: 0,
        };
        let every = crate::providers::every_sampler_field();
        let kept = every.retain(model.supported_params());
        assert_eq!(
            kept,
            app::domain::sampling::SamplerParams {
                max_tokens: Some(100),
                seed: Some(7),
                ..Default::default()
            }
        );
    }

    #[tokio::test]
    async fn max_tokens_cuts_the_reply() {
        let model = OfflineModel {
            token_delay: Duration::ZERO,
            fail_after: None,
            min_tokens: 0,
        };
        let mut short = request(5);
        short.params.max_tokens = Some(3);
        let texts = model
            .generate(short)
            .filter(|d| std::future::ready(matches!(d, Ok(Delta::Text(_)))))
            .count()
            .await;
        assert_eq!(texts, 3);
    }

    #[tokio::test]
    async fn a_minimum_length_makes_the_reply_exactly_that_long() {
        let model = OfflineModel {
            token_delay: Duration::ZERO,
            fail_after: None,
            min_tokens: 10_000,
        };
        let texts: Vec<String> = model
            .generate(request(5))
            .filter_map(|d| async move {
                match d {
                    Ok(Delta::Text(text)) => Some(text),
                    _ => None,
                }
            })
            .collect()
            .await;
        assert_eq!(texts.len(), 10_000);
        assert!(texts.concat().contains("\n\n"), "further paragraphs follow");
    }

    #[tokio::test]
    async fn fails_mid_stream_when_told_to_and_then_ends() {
        let model = OfflineModel {
            token_delay: Duration::ZERO,
            fail_after: Some(4),
            min_tokens: 0,
        };
        let items: Vec<Result<Delta, ProviderError>> = model.generate(request(5)).collect().await;
        assert_eq!(items.len(), 5);
        assert!(items[..4].iter().all(Result::is_ok));
        assert!(items[4].is_err());
    }
}
