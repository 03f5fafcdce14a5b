//! One reply being generated: a task that pulls deltas from a provider and
//! hands them to the conversation's actor. The actor owns the task; aborting
//! it drops the provider stream, which closes the upstream request.

use crate::chat::frame_pacer::FramePacer;
use crate::providers::{
    Delta, GenerationRequest, Provider, ProviderError, ProviderErrorKind, ThreadMessage, TokenUsage,
};
use futures::{FutureExt, StreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;
use uuid::Uuid;

/// Largest text merged into one delta from pieces that were ready together.
const MAX_MERGED_BYTES: usize = 4096;

/// How a generation paces itself.
#[derive(Debug, Clone, Copy)]
pub struct StreamPace {
    /// A provider that sends nothing for this long fails the reply.
    pub idle_timeout: Duration,
    /// Text goes to the actor at most once per frame ([`FramePacer`]).
    pub frame: Duration,
}

/// Progress of one generation, sent to its actor.
#[derive(Debug)]
pub struct GenerationUpdate {
    /// The assistant message being written.
    pub id: Uuid,
    pub kind: UpdateKind,
}

#[derive(Debug)]
pub enum UpdateKind {
    /// More text: `pieces` deltas of the provider, merged.
    Text { text: String, pieces: u64 },
    /// Token counts reported by the provider.
    Usage(TokenUsage),
    /// The reply calls these tools.
    ToolCalls(Vec<app::domain::model::ToolCall>),
    /// A title for the conversation, named after this reply finished.
    Title(String),
    /// The provider finished, or failed (text so far is kept).
    Finished(Result<(), ProviderError>),
}

/// Starts generating reply `id`; updates go to `updates` until the stream
/// ends. The actor always hears how it ended, even if the provider panics;
/// a provider that sends nothing for `pace.idle_timeout` fails the reply.
pub fn spawn(
    provider: Arc<dyn Provider>,
    request: GenerationRequest,
    id: Uuid,
    updates: mpsc::Sender<GenerationUpdate>,
    pace: StreamPace,
) -> JoinHandle<()> {
    let idle_timeout = pace.idle_timeout;
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            let guard = EndGuard {
                id,
                updates: Some(updates.clone()),
            };
            let mut stream = provider.generate(request);
            let mut ready: Option<Result<Delta, ProviderError>> = None;
            let mut pacer = FramePacer::new(pace.frame);
            let mut ended = false;
            while !ended {
                let item = match ready.take() {
                    Some(item) => item,
                    None => match tokio::time::timeout(idle_timeout, stream.next()).await {
                        Ok(Some(item)) => item,
                        Ok(None) => break,
                        Err(_) => Err(ProviderError::new(
                            ProviderErrorKind::Timeout,
                            format!("the model sent nothing for {} s", idle_timeout.as_secs()),
                        )),
                    },
                };
                let kind = match item {
                    Ok(Delta::Text(text)) if text.is_empty() => continue,
                    // Waiting for a busy model is not silence: the idle
                    // timeout starts again.
                    Ok(Delta::Waiting { .. }) => continue,
                    Ok(Delta::Text(mut text)) => {
                        // Take along the text that comes before this is due:
                        // what is ready right now when it goes at once, else
                        // whatever arrives until the running frame ends.
                        let now = Instant::now();
                        let due = tokio::time::Instant::from_std(pacer.due(now));
                        let mut pieces = 1;
                        while text.len() < MAX_MERGED_BYTES {
                            let next = if due.into_std() > now {
                                tokio::time::timeout_at(due, stream.next()).await.ok()
                            } else {
                                stream.next().now_or_never()
                            };
                            match next {
                                Some(Some(Ok(Delta::Text(more)))) => {
                                    text.push_str(&more);
                                    pieces += 1;
                                }
                                Some(Some(other)) => {
                                    ready = Some(other);
                                    break;
                                }
                                Some(None) => {
                                    ended = true;
                                    break;
                                }
                                None => break,
                            }
                        }
                        // No database holds U+0000 (PostgreSQL refuses it).
                        text.retain(|c| c != '\0');
                        if text.is_empty() {
                            continue;
                        }
                        UpdateKind::Text { text, pieces }
                    }
                    Ok(Delta::Usage(usage)) => UpdateKind::Usage(usage),
                    Ok(Delta::ToolCalls(calls)) => UpdateKind::ToolCalls(calls),
                    Err(error) => {
                        tracing::warn!(reply = %id, %error, "generation failed");
                        guard.end(Err(error)).await;
                        return;
                    }
                };
                let text_sent = matches!(kind, UpdateKind::Text { .. });
                if updates.send(GenerationUpdate { id, kind }).await.is_err() {
                    return; // the actor is gone; nobody wants the rest
                }
                if text_sent {
                    pacer.sent(Instant::now());
                }
            }
            guard.end(Ok(())).await;
        }
        .instrument(span),
    )
}

/// Reports the end of a generation. If the task stops without reporting
/// (a panicking provider, an abort), dropping the guard reports a failure,
/// so no reply stays `streaming` with nothing behind it.
struct EndGuard {
    id: Uuid,
    updates: Option<mpsc::Sender<GenerationUpdate>>,
}

impl EndGuard {
    async fn end(mut self, result: Result<(), ProviderError>) {
        if let Some(updates) = self.updates.take() {
            _ = updates
                .send(GenerationUpdate {
                    id: self.id,
                    kind: UpdateKind::Finished(result),
                })
                .await;
        }
    }
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        let Some(updates) = self.updates.take() else {
            return;
        };
        let update = GenerationUpdate {
            id: self.id,
            kind: UpdateKind::Finished(Err(ProviderError::new(
                ProviderErrorKind::Crashed,
                "the model stopped unexpectedly",
            ))),
        };
        // Usually there is room; if not, deliver it from a task of its own.
        if let Err(mpsc::error::TrySendError::Full(update)) = updates.try_send(update) {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { _ = updates.send(update).await });
            }
        }
    }
}

/// A token count estimated from text length (about four characters a
/// token), for providers that report none.
pub fn estimate_tokens(chars: usize) -> u32 {
    u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX)
}

/// A seed that is the same for the same thread and sibling position, and
/// different for each regeneration (each new sibling) of a reply.
pub fn derive_seed(thread: &[ThreadMessage], sibling_index: usize) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    };
    for message in thread {
        feed(message.role.as_str().as_bytes());
        feed(&[0]);
        feed(message.content.as_bytes());
        feed(&[0]);
    }
    feed(&(sibling_index as u64).to_le_bytes());
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::DeltaStream;
    use app::domain::model::Role;

    /// A provider whose stream panics after one delta, like a buggy adapter.
    struct PanickingProvider;

    impl Provider for PanickingProvider {
        fn is_offline(&self) -> bool {
            true
        }
        fn supported_params(&self) -> &[app::domain::sampling::SamplerField] {
            &[]
        }
        fn generate(&self, _request: GenerationRequest) -> DeltaStream {
            // Each item comes after a pause, so the first is sent alone.
            Box::pin(futures::stream::iter(0..2).then(|i| async move {
                tokio::task::yield_now().await;
                assert!(i == 0, "the provider broke");
                Ok(Delta::Text("one ".to_string()))
            }))
        }
    }

    #[tokio::test]
    async fn a_panicking_provider_still_ends_the_reply() {
        let (updates, mut received) = mpsc::channel(8);
        let id = Uuid::nil();
        let task = spawn(Arc::new(PanickingProvider), request(), id, updates, pace(0));
        assert!(task.await.is_err(), "the task panicked");
        let first = received.recv().await.expect("the delta");
        assert!(matches!(first.kind, UpdateKind::Text { ref text, .. } if text == "one "));
        let last = received.recv().await.expect("an end is always reported");
        assert!(matches!(last.kind, UpdateKind::Finished(Err(_))));
    }

    /// A model writing five words a millisecond apart.
    struct PacedProvider;

    impl Provider for PacedProvider {
        fn is_offline(&self) -> bool {
            true
        }
        fn supported_params(&self) -> &[app::domain::sampling::SamplerField] {
            &[]
        }
        fn generate(&self, _request: GenerationRequest) -> DeltaStream {
            let words = ["one ", "two ", "three ", "four ", "five "];
            Box::pin(futures::stream::iter(words).then(|word| async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok(Delta::Text(word.to_string()))
            }))
        }
    }

    /// The texts a generation sends its actor, until it finishes.
    async fn texts_sent(pace: StreamPace) -> Vec<String> {
        let (updates, mut received) = mpsc::channel(8);
        spawn(
            Arc::new(PacedProvider),
            request(),
            Uuid::nil(),
            updates,
            pace,
        );
        let mut texts = Vec::new();
        while let Some(update) = received.recv().await {
            match update.kind {
                UpdateKind::Text { text, .. } => texts.push(text),
                UpdateKind::Finished(result) => {
                    assert!(result.is_ok(), "{result:?}");
                    return texts;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("the generation never finished")
    }

    #[tokio::test]
    async fn text_that_comes_within_a_frame_travels_together() {
        // A frame longer than the whole reply: the first word goes at once,
        // the others wait for the frame and go together when the model ends.
        let texts = texts_sent(pace(3_600_000)).await;
        assert_eq!(texts, ["one ", "two three four five "]);
    }

    #[tokio::test]
    async fn without_a_frame_each_piece_goes_as_it_comes() {
        let texts = texts_sent(pace(0)).await;
        assert_eq!(texts, ["one ", "two ", "three ", "four ", "five "]);
    }

    fn pace(frame_ms: u64) -> StreamPace {
        StreamPace {
            idle_timeout: Duration::from_secs(5),
            frame: Duration::from_millis(frame_ms),
        }
    }

    fn request() -> GenerationRequest {
        GenerationRequest {
            model: "test".into(),
            thread: thread("hi"),
            params: Default::default(),
            tools: Vec::new(),
        }
    }

    fn thread(text: &str) -> Vec<ThreadMessage> {
        vec![ThreadMessage::new(Role::User, text)]
    }

    #[test]
    fn estimates_count_about_four_characters_a_token() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(1), 1);
        assert_eq!(estimate_tokens(8), 2);
        assert_eq!(estimate_tokens(9), 3);
    }

    #[test]
    fn seeds_repeat_for_the_same_thread_and_position() {
        assert_eq!(derive_seed(&thread("hi"), 0), derive_seed(&thread("hi"), 0));
    }

    #[test]
    fn seeds_differ_per_regeneration_and_per_thread() {
        assert_ne!(derive_seed(&thread("hi"), 0), derive_seed(&thread("hi"), 1));
        assert_ne!(derive_seed(&thread("hi"), 0), derive_seed(&thread("ho"), 0));
    }
}
