//! The thread that runs the in-process model. It owns the one llama.cpp
//! context, which holds a slot (a KV-cache sequence) for each of up to
//! `parallel` generations. Each step decodes one batch holding the next
//! token of every generation in its slot, plus as much of a newcomer's
//! prompt as the batch has room for; so slots advance together, one token
//! each per step, and a long reply never holds up a short one. Generations
//! beyond the slots wait in arrival order and are told so.
//!
//! A generation whose receiver is gone (Stop, a closed conversation) leaves
//! its slot before the next step: no more CPU is spent on it.

use super::sampling::Sampling;
use super::stop_text::{Scanned, StopScanner};
use crate::providers::{Delta, ProviderError, ProviderErrorKind, TokenUsage};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Most tokens decoded in one step (prompt chunks included).
const BATCH_TOKENS: usize = 512;
/// How often a waiting generation hears that it is still waiting.
const WAITING_NOTICE_EVERY: Duration = Duration::from_secs(5);

/// What the worker sends a generation: deltas, ending with `Usage` (or an error).
pub type ReplySender = UnboundedSender<Result<Delta, ProviderError>>;

/// One generation asked of the worker.
pub struct Job {
    /// The whole prompt, tokenized (chat template applied).
    pub prompt: Vec<LlamaToken>,
    pub sampling: Sampling,
    pub max_tokens: usize,
    pub stops: Vec<String>,
    pub replies: ReplySender,
}

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// Generations decoded together.
    pub parallel: usize,
    /// Tokens of context each generation has (prompt and reply).
    pub context: u32,
    /// CPU threads llama.cpp uses.
    pub threads: usize,
}

/// A generation in a slot.
struct Slot {
    /// The KV-cache sequence it owns.
    seq: i32,
    job: Job,
    sampler: LlamaSampler,
    /// Prompt tokens already decoded.
    fed: usize,
    /// The token sampled last, to be decoded next.
    next: Option<LlamaToken>,
    /// Tokens written so far.
    written: usize,
    /// Bytes of a character split across tokens.
    partial: Vec<u8>,
    stops: StopScanner,
    /// Where this slot's logits are in the current batch.
    logits_at: Option<i32>,
}

impl Slot {
    /// Where the token sampled last goes in the sequence: it is decoded in
    /// the next step, after every token before it.
    fn next_position(&self) -> usize {
        (self.fed + self.written).saturating_sub(1)
    }
}

/// Runs the worker until every `Job` sender is gone. Fails only if the
/// llama.cpp context cannot be created.
pub fn run(
    model: &LlamaModel,
    backend: &llama_cpp_2::llama_backend::LlamaBackend,
    settings: WorkerSettings,
    jobs: Receiver<Job>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) {
    let parallel = settings.parallel.max(1);
    let total = settings.context.saturating_mul(parallel as u32);
    let threads = i32::try_from(settings.threads.max(1)).unwrap_or(1);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(total))
        .with_n_batch(BATCH_TOKENS as u32)
        .with_n_ubatch(BATCH_TOKENS as u32)
        .with_n_seq_max(parallel as u32)
        // One pool of cells for all slots (each slot stops at `context`, so
        // they always fit): llama.cpp then decodes every slot's token in one
        // pass, where per-slot streams would split the batch.
        .with_kv_unified(true)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut context = match model.new_context(backend, params) {
        Ok(context) => context,
        Err(error) => {
            _ = ready.send(Err(format!("cannot set up its context: {error}")));
            return;
        }
    };
    _ = ready.send(Ok(()));
    let mut worker = Worker {
        model,
        settings: WorkerSettings {
            parallel,
            ..settings
        },
        queue: VecDeque::new(),
        slots: Vec::new(),
        free: (0..parallel as i32).rev().collect(),
        forget: Vec::new(),
        batch: LlamaBatch::new(BATCH_TOKENS, parallel as i32),
        last_notice: Instant::now(),
    };
    while worker.take_jobs(&jobs) {
        worker.step(&mut context);
    }
}

struct Worker<'m> {
    model: &'m LlamaModel,
    settings: WorkerSettings,
    queue: VecDeque<Job>,
    slots: Vec<Slot>,
    /// Sequence ids not in use.
    free: Vec<i32>,
    /// Sequences whose KV cache is to be cleared before the next step.
    forget: Vec<i32>,
    batch: LlamaBatch<'static>,
    last_notice: Instant,
}

impl Worker<'_> {
    /// Collects new jobs (blocking while there is nothing to do), drops the
    /// ones nobody waits for, and fills free slots. False once no job can
    /// come any more and none is left.
    fn take_jobs(&mut self, jobs: &Receiver<Job>) -> bool {
        loop {
            if self.slots.is_empty() && self.queue.is_empty() {
                match jobs.recv() {
                    Ok(job) => self.queue.push_back(job),
                    Err(_) => return false,
                }
            }
            while let Ok(job) = jobs.try_recv() {
                self.queue.push_back(job);
            }
            self.queue.retain(|job| !job.replies.is_closed());
            self.release_abandoned_slots();
            while !self.free.is_empty() {
                let Some(job) = self.queue.pop_front() else {
                    break;
                };
                self.start(job);
            }
            self.tell_the_waiting();
            metrics::gauge!("arbor_local_generations_running").set(self.slots.len() as f64);
            metrics::gauge!("arbor_local_generations_waiting").set(self.queue.len() as f64);
            // With no slot in use every job was started or refused, so the
            // queue is empty too: back to waiting for one.
            if !self.slots.is_empty() {
                return true;
            }
        }
    }

    fn start(&mut self, job: Job) {
        let Some(seq) = self.free.pop() else {
            self.queue.push_front(job);
            return;
        };
        let fits = job.prompt.len() < self.settings.context as usize;
        if job.prompt.is_empty() || !fits {
            let message = if job.prompt.is_empty() {
                "the chat template made an empty prompt".to_string()
            } else {
                format!(
                    "the prompt is {} tokens; the local model's context holds {}",
                    job.prompt.len(),
                    self.settings.context
                )
            };
            _ = job
                .replies
                .send(Err(ProviderError::new(ProviderErrorKind::Refused, message)));
            self.free.push(seq);
            return;
        }
        let sampler = job.sampling.sampler(self.model.n_vocab());
        let stops = StopScanner::new(&job.stops);
        self.slots.push(Slot {
            seq,
            job,
            sampler,
            fed: 0,
            next: None,
            written: 0,
            partial: Vec::new(),
            stops,
            logits_at: None,
        });
    }

    /// Frees the slots of generations nobody listens to any more.
    fn release_abandoned_slots(&mut self) {
        let (gone, kept): (Vec<Slot>, Vec<Slot>) = std::mem::take(&mut self.slots)
            .into_iter()
            .partition(|slot| slot.job.replies.is_closed());
        self.slots = kept;
        for slot in gone {
            self.release(slot.seq);
        }
    }

    fn release(&mut self, seq: i32) {
        self.free.push(seq);
        self.forget.push(seq);
    }

    /// Tells each waiting generation how many are ahead of it, now and then,
    /// so that it knows it is alive.
    fn tell_the_waiting(&mut self) {
        if self.queue.is_empty() || self.last_notice.elapsed() < WAITING_NOTICE_EVERY {
            return;
        }
        self.last_notice = Instant::now();
        for (ahead, job) in self.queue.iter().enumerate() {
            _ = job.replies.send(Ok(Delta::Waiting { ahead }));
        }
    }

    /// Decodes one batch and handles the tokens it yields.
    fn step(&mut self, context: &mut LlamaContext) {
        for seq in self.forget.drain(..) {
            _ = context.clear_kv_cache_seq(u32::try_from(seq).ok(), None, None);
        }
        if self.slots.is_empty() {
            return;
        }
        self.batch.clear();
        let mut room = BATCH_TOKENS;
        // Every slot that is writing adds its next token first...
        for slot in &mut self.slots {
            slot.logits_at = None;
            if let Some(token) = slot.next {
                let at = self.batch.n_tokens();
                let position = slot.next_position() as i32;
                if self.batch.add(token, position, &[slot.seq], true).is_ok() {
                    slot.logits_at = Some(at);
                    room -= 1;
                }
            }
        }
        // ...then prompts take what room is left, oldest first.
        for slot in &mut self.slots {
            if slot.next.is_some() || room == 0 {
                continue;
            }
            let rest = &slot.job.prompt[slot.fed..];
            let chunk = rest.len().min(room);
            let mut added = 0;
            for (i, token) in rest[..chunk].iter().enumerate() {
                let last_of_prompt = i + 1 == rest.len();
                let at = self.batch.n_tokens();
                let position = (slot.fed + i) as i32;
                if self
                    .batch
                    .add(*token, position, &[slot.seq], last_of_prompt)
                    .is_err()
                {
                    break;
                }
                added += 1;
                if last_of_prompt {
                    slot.logits_at = Some(at);
                }
            }
            slot.fed += added;
            room -= added;
        }
        if let Err(error) = context.decode(&mut self.batch) {
            let message = format!("the local model failed to decode: {error}");
            for slot in std::mem::take(&mut self.slots) {
                _ = slot.job.replies.send(Err(ProviderError::new(
                    ProviderErrorKind::Upstream,
                    message.clone(),
                )));
                self.release(slot.seq);
            }
            return;
        }
        let context_size = self.settings.context as usize;
        let mut writing = Vec::with_capacity(self.slots.len());
        for mut slot in std::mem::take(&mut self.slots) {
            let ended = match slot.logits_at {
                Some(at) => {
                    let token = slot.sampler.sample(context, at);
                    metrics::counter!("arbor_local_tokens_total").increment(1);
                    advance(self.model, &mut slot, token, context_size)
                }
                None => {
                    // Still reading a long prompt: not silent, just busy.
                    _ = slot.job.replies.send(Ok(Delta::Waiting { ahead: 0 }));
                    false
                }
            };
            if ended {
                let seq = slot.seq;
                finish(slot);
                self.release(seq);
            } else {
                writing.push(slot);
            }
        }
        self.slots = writing;
    }
}

/// Takes the token a slot's model chose: passes its text on, and says
/// whether the reply has ended (end of turn, a stop sequence, the length
/// limit or a full context).
fn advance(model: &LlamaModel, slot: &mut Slot, token: LlamaToken, context: usize) -> bool {
    let vocab = model.vocab();
    if vocab.is_eog(token) {
        return true;
    }
    vocab.token_to_piece_into(token, &mut slot.partial, false, None);
    let text = take_complete_text(&mut slot.partial);
    slot.written += 1;
    slot.next = Some(token);
    match slot.stops.push(&text) {
        Scanned::Go(text) => {
            if !text.is_empty() {
                _ = slot.job.replies.send(Ok(Delta::Text(text)));
            }
        }
        Scanned::Stop(text) => {
            if !text.is_empty() {
                _ = slot.job.replies.send(Ok(Delta::Text(text)));
            }
            slot.stops = StopScanner::default();
            slot.partial.clear();
            return true;
        }
    }
    slot.written >= slot.job.max_tokens || slot.fed + slot.written >= context
}

/// Sends what a finished reply still holds back, then its token counts.
fn finish(mut slot: Slot) {
    let mut rest = std::mem::take(&mut slot.stops).finish();
    rest.push_str(&String::from_utf8_lossy(&slot.partial));
    if !rest.is_empty() {
        _ = slot.job.replies.send(Ok(Delta::Text(rest)));
    }
    let usage = TokenUsage {
        prompt: u32::try_from(slot.job.prompt.len()).ok(),
        completion: u32::try_from(slot.written).ok(),
    };
    _ = slot.job.replies.send(Ok(Delta::Usage(usage)));
}

/// Removes and returns the complete UTF-8 text at the start of `bytes`,
/// leaving the start of a character split across tokens; bytes that can
/// never be UTF-8 become U+FFFD.
fn take_complete_text(bytes: &mut Vec<u8>) -> String {
    let mut text = String::new();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(valid) => {
                text.push_str(valid);
                bytes.clear();
                return text;
            }
            Err(error) => {
                let valid = error.valid_up_to();
                text.push_str(&String::from_utf8_lossy(&bytes[..valid]));
                match error.error_len() {
                    Some(invalid) => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        bytes.drain(..valid + invalid);
                    }
                    None => {
                        bytes.drain(..valid);
                        return text;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::take_complete_text;

    #[test]
    fn characters_split_across_tokens_wait_for_their_last_byte() {
        let smile = "🙂".as_bytes();
        let mut bytes = b"ok ".to_vec();
        bytes.extend_from_slice(&smile[..2]);
        assert_eq!(take_complete_text(&mut bytes), "ok ");
        bytes.extend_from_slice(&smile[2..]);
        assert_eq!(take_complete_text(&mut bytes), "🙂");
        assert!(bytes.is_empty());
    }

    #[test]
    fn a_split_character_after_a_broken_byte_still_waits() {
        let smile = "🙂".as_bytes();
        let mut bytes = vec![b'a', 0xff];
        bytes.extend_from_slice(&smile[..2]);
        assert_eq!(take_complete_text(&mut bytes), "a\u{fffd}");
        bytes.extend_from_slice(&smile[2..]);
        assert_eq!(take_complete_text(&mut bytes), "🙂");
    }

    #[test]
    fn bytes_that_are_never_text_become_replacement_characters() {
        let mut bytes = vec![b'a', 0xff, b'b'];
        assert_eq!(take_complete_text(&mut bytes), "a\u{fffd}b");
        assert!(bytes.is_empty());
    }
}
