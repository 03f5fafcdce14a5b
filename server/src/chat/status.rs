//! What the rest of the server can see of a conversation actor without
//! asking it (and so without waiting behind its work): whether it is
//! generating, how much it has streamed, and when it last did anything.
//! The actor writes these after every step; the registry, the programmatic
//! API and the admin dashboard read them.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Shared between one actor and its readers.
#[derive(Debug, Default)]
pub struct ActorStatus {
    running: AtomicUsize,
    messages: AtomicUsize,
    deltas: AtomicU64,
    last_activity_ms: AtomicI64,
    panicked: AtomicBool,
}

impl ActorStatus {
    /// How many replies the actor is generating right now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    /// Whether any reply is being generated.
    pub fn is_busy(&self) -> bool {
        self.running() > 0
    }

    /// How many messages the conversation has.
    pub fn messages(&self) -> usize {
        self.messages.load(Ordering::Relaxed)
    }

    /// Text deltas (tokens, for most providers) streamed since the actor started.
    pub fn deltas_streamed(&self) -> u64 {
        self.deltas.load(Ordering::Relaxed)
    }

    /// When the actor last handled a command or a delta (Unix milliseconds).
    pub fn last_activity_ms(&self) -> i64 {
        self.last_activity_ms.load(Ordering::Relaxed)
    }

    /// Whether the actor stopped because one of its steps panicked.
    pub fn has_panicked(&self) -> bool {
        self.panicked.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_panicked(&self) {
        self.panicked.store(true, Ordering::Relaxed);
    }

    pub(crate) fn record(&self, running: usize, messages: usize, now_ms: i64) {
        self.running.store(running, Ordering::Relaxed);
        self.messages.store(messages, Ordering::Relaxed);
        self.last_activity_ms.store(now_ms, Ordering::Relaxed);
    }

    pub(crate) fn add_deltas(&self, count: u64) {
        self.deltas.fetch_add(count, Ordering::Relaxed);
    }
}
