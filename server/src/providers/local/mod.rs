//! The in-process model: a GGUF file run on this machine's CPU by llama.cpp
//! (through the `llama-cpp-2` crate), inside the server, with no key and no
//! second server. The weights are memory-mapped and loaded once; every
//! conversation's replies go through one [`worker`] thread that decodes up
//! to `parallel` of them together and queues the rest in arrival order.
//! The chat template and the tokenizer come from the file itself.

mod chat_template;
mod sampling;
mod stop_text;
mod worker;

use super::context_fit;
use super::{
    Delta, DeltaStream, GenerationRequest, Provider, ProviderError, ProviderErrorKind,
    ThreadMessage,
};
use app::domain::sampling::SamplerField;
use chat_template::ChatTemplate;
use futures::stream;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use sampling::Sampling;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Instant;
use worker::{Job, WorkerSettings};

/// The provider name of the in-process model.
pub const LOCAL_PROVIDER: &str = "local";

/// Tokens kept free for the reply when a thread is fitted into the context
/// (fewer when the reply's length limit is smaller, at most a quarter of it).
const REPLY_ROOM: u32 = 512;

/// ChatML, for a GGUF that carries no chat template.
const CHATML: &str = "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// Where the model file is and how it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSettings {
    /// The GGUF file.
    pub path: PathBuf,
    /// Replies generated together; more wait their turn.
    pub parallel: usize,
    /// Tokens of context each reply has (prompt and reply together).
    pub context: u32,
    /// CPU threads the model uses.
    pub threads: usize,
}

/// See the module documentation.
pub struct LocalModel {
    model: Arc<LlamaModel>,
    template: ChatTemplate,
    /// The BOS text, when the tokenizer adds the token itself.
    bos_from_tokenizer: Option<String>,
    jobs: mpsc::Sender<Job>,
    context: u32,
    id: String,
}

/// llama.cpp's process-wide set-up, done once.
fn backend() -> Result<&'static LlamaBackend, ProviderError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| {
            ProviderError::new(
                ProviderErrorKind::Config,
                format!("cannot start llama.cpp: {e}"),
            )
        })
}

impl LocalModel {
    /// Loads the model file and starts its worker thread. Every failure
    /// names the file and what is wrong with it.
    pub fn load(settings: &LocalSettings) -> Result<LocalModel, ProviderError> {
        let path = &settings.path;
        let fail = |why: String| {
            ProviderError::new(
                ProviderErrorKind::Config,
                format!("cannot load the local model {}: {why}", path.display()),
            )
        };
        check_gguf(path).map_err(fail)?;
        let started = Instant::now();
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| {
                fail(format!(
                    "llama.cpp could not read it ({e}); the file may be truncated or corrupt"
                ))
            })?;
        let model = Arc::new(model);
        let source = model.meta_val_str("tokenizer.chat_template").ok();
        if source.is_none() {
            tracing::warn!(file = %path.display(), "the model carries no chat template; using ChatML");
        }
        // A vocabulary without a BOS or EOS token answers -1, which
        // llama.cpp must not be asked to spell.
        let special = |token: LlamaToken| {
            if (0..model.n_vocab()).contains(&token.0) {
                String::from_utf8_lossy(&model.vocab().token_to_piece(token, true, None))
                    .into_owned()
            } else {
                String::new()
            }
        };
        let bos_text = special(model.vocab().bos());
        let template = ChatTemplate::new(
            source.as_deref().unwrap_or(CHATML),
            &bos_text,
            &special(model.vocab().eos()),
        )
        .map_err(fail)?;

        let (jobs, waiting) = mpsc::channel();
        let (ready, started_up) = mpsc::channel();
        let shared = model.clone();
        let worker_settings = WorkerSettings {
            parallel: settings.parallel,
            context: settings.context,
            threads: settings.threads,
        };
        std::thread::Builder::new()
            .name("local-model".into())
            .spawn(move || worker::run(&shared, backend, worker_settings, waiting, ready))
            .map_err(|e| fail(format!("cannot start its thread: {e}")))?;
        match started_up.recv() {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return Err(fail(why)),
            Err(_) => return Err(fail("its thread stopped while starting".into())),
        }
        let id = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        tracing::info!(
            file = %path.display(),
            megabytes = model.size() / 1_000_000,
            parameters = model.n_params(),
            parallel = settings.parallel,
            context = settings.context,
            threads = settings.threads,
            seconds = started.elapsed().as_secs_f32(),
            "loaded the local model"
        );
        // When the tokenizer adds BOS itself, a template that prints it too
        // would give the model two.
        let bos_from_tokenizer = model.vocab().should_add_bos().then_some(bos_text);
        Ok(LocalModel {
            model,
            template,
            bos_from_tokenizer,
            jobs,
            context: settings.context,
            id,
        })
    }

    /// The model's id: the file's name without `.gguf`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The prompt for `thread`, tokenized.
    fn prompt_tokens(&self, thread: &[ThreadMessage]) -> Result<Vec<LlamaToken>, ProviderError> {
        let prompt = self
            .template
            .render(thread)
            .map_err(|e| ProviderError::new(ProviderErrorKind::Refused, e))?;
        let prompt = match &self.bos_from_tokenizer {
            Some(bos) if !bos.is_empty() => prompt.strip_prefix(bos.as_str()).unwrap_or(&prompt),
            _ => &prompt,
        };
        Ok(self.model.vocab().tokenize(prompt.as_bytes(), true, true))
    }
}

/// Checks that `path` is a readable file that starts like a GGUF.
fn check_gguf(path: &Path) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "the file does not exist".to_string(),
        _ => format!("cannot open it: {e}"),
    })?;
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) if &magic == b"GGUF" => Ok(()),
        _ => Err("it is not a GGUF file (it does not start with `GGUF`)".into()),
    }
}

/// Tokens kept for the reply when fitting a thread into `context`.
fn reply_room(max_tokens: Option<u32>, context: u32) -> u32 {
    max_tokens
        .unwrap_or(REPLY_ROOM)
        .min(REPLY_ROOM)
        .min(context / 4)
        .max(1)
}

impl Provider for LocalModel {
    fn is_offline(&self) -> bool {
        true
    }

    fn runs_here(&self) -> bool {
        true
    }

    fn supported_params(&self) -> &[SamplerField] {
        &SamplerField::ALL
    }

    fn messages_to_leave_out(&self, request: &GenerationRequest) -> Result<usize, ProviderError> {
        let room = reply_room(request.params.max_tokens, self.context);
        let budget = (self.context - room) as usize;
        // A thread the template refuses is an error, not a long thread.
        if self.prompt_tokens(&request.thread)?.len() <= budget {
            return Ok(0);
        }
        let mut failure = None;
        let found = context_fit::messages_to_leave_out(&request.thread, |thread| {
            match self.prompt_tokens(thread) {
                Ok(tokens) => tokens.len() <= budget,
                Err(error) => {
                    failure = Some(error);
                    false
                }
            }
        });
        match (found, failure) {
            (Some(count), _) => Ok(count),
            (None, Some(error)) => Err(error),
            (None, None) => Err(ProviderError::new(
                ProviderErrorKind::Refused,
                format!(
                    "the message is too long for the local model: its context holds {} tokens, \
                     {room} of them kept for the reply (shorten the message, or raise \
                     ARBOR_LOCAL_CONTEXT)",
                    self.context
                ),
            )),
        }
    }

    fn generate(&self, request: GenerationRequest) -> DeltaStream {
        let prompt = match self.prompt_tokens(&request.thread) {
            Ok(prompt) => prompt,
            Err(error) => return Box::pin(stream::iter([Err(error)])),
        };
        let (replies, received) = tokio::sync::mpsc::unbounded_channel();
        let job = Job {
            prompt,
            sampling: Sampling::of(&request.params),
            max_tokens: request
                .params
                .max_tokens
                .map_or(usize::MAX, |m| (m as usize).max(1)),
            stops: request.params.stop.clone().unwrap_or_default(),
            replies,
        };
        if self.jobs.send(job).is_err() {
            return Box::pin(stream::iter([Err(worker_gone())]));
        }
        // The worker ends every reply with its usage or an error; a channel
        // that closes before either means the worker died.
        Box::pin(stream::unfold(
            (received, false),
            |(mut received, ended)| async move {
                if ended {
                    return None;
                }
                match received.recv().await {
                    Some(Ok(Delta::Usage(usage))) => {
                        Some((Ok(Delta::Usage(usage)), (received, true)))
                    }
                    Some(Err(error)) => Some((Err(error), (received, true))),
                    Some(Ok(delta)) => Some((Ok(delta), (received, false))),
                    None => Some((Err(worker_gone()), (received, true))),
                }
            },
        ))
    }
}

fn worker_gone() -> ProviderError {
    ProviderError::new(
        ProviderErrorKind::Crashed,
        "the local model's worker thread has stopped",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_keeps_room_within_the_context() {
        assert_eq!(reply_room(None, 2048), 512);
        assert_eq!(reply_room(Some(100), 2048), 100);
        assert_eq!(reply_room(Some(4000), 1024), 256);
        assert_eq!(reply_room(Some(0), 2048), 1);
    }

    #[test]
    fn files_that_are_not_gguf_are_named_as_such() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.gguf");
        assert_eq!(check_gguf(&missing), Err("the file does not exist".into()));
        let text = dir.path().join("notes.gguf");
        std::fs::write(&text, "hello").expect("written");
        assert!(check_gguf(&text)
            .expect_err("refused")
            .contains("not a GGUF"));
        let empty = dir.path().join("empty.gguf");
        std::fs::write(&empty, "").expect("written");
        assert!(check_gguf(&empty).is_err());
    }
}
