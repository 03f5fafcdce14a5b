//! One reply being generated: a task that pulls deltas from a provider and
//! hands them to the conversation's actor. The actor owns the task; aborting
//! it drops the provider stream, which closes the upstream request.

use crate::providers::{GenerationRequest, Provider, ProviderError, ThreadMessage};
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Progress of one generation, sent to its actor.
#[derive(Debug)]
pub struct GenerationUpdate {
    /// The assistant message being written.
    pub id: Uuid,
    pub kind: UpdateKind,
}

#[derive(Debug)]
pub enum UpdateKind {
    /// More text.
    Text(String),
    /// The provider finished, or failed (text so far is kept).
    Finished(Result<(), ProviderError>),
}

/// Starts generating reply `id`; updates go to `updates` until the stream ends.
pub fn spawn(
    provider: Arc<dyn Provider>,
    request: GenerationRequest,
    id: Uuid,
    updates: mpsc::Sender<GenerationUpdate>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = provider.generate(request);
        while let Some(item) = stream.next().await {
            let kind = match item {
                Ok(text) if text.is_empty() => continue,
                Ok(text) => UpdateKind::Text(text),
                Err(error) => {
                    tracing::warn!(message = %id, %error, "generation failed");
                    _ = updates
                        .send(GenerationUpdate {
                            id,
                            kind: UpdateKind::Finished(Err(error)),
                        })
                        .await;
                    return;
                }
            };
            if updates.send(GenerationUpdate { id, kind }).await.is_err() {
                return; // the actor is gone; nobody wants the rest
            }
        }
        _ = updates
            .send(GenerationUpdate {
                id,
                kind: UpdateKind::Finished(Ok(())),
            })
            .await;
    })
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
    use app::model::Role;

    fn thread(text: &str) -> Vec<ThreadMessage> {
        vec![ThreadMessage {
            role: Role::User,
            content: text.into(),
        }]
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
