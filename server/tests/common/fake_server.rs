//! The machinery of the fake provider servers used in tests: a real HTTP
//! server on a free loopback port that records every request, and scripted
//! streaming responses: Server-Sent Events written in two halves each (so a
//! client must reassemble events split across TCP writes), pauses, a cut
//! connection, or silence. A response abandoned by the client before its
//! scripted end is counted.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::stream;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
}

/// What a fake shares with its handler.
#[derive(Default)]
pub struct Shared {
    requests: Mutex<Vec<Received>>,
    closed_early: Arc<AtomicUsize>,
}

impl Shared {
    /// Remembers a request.
    pub fn record(&self, headers: HeaderMap, body: Value) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Received { headers, body });
    }
}

/// A fake provider server running on a loopback port; stopped when dropped.
pub struct FakeServer {
    /// Where the fake listens, e.g. `http://127.0.0.1:40000`.
    pub origin: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    /// Serves `router` (which gets the shared state) on a free loopback port.
    pub async fn start(router: Router<Arc<Shared>>) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared::default());
        let app = router.with_state(shared.clone());
        let task = tokio::spawn(async move {
            _ = axum::serve(listener, app).await;
        });
        FakeServer {
            origin: format!("http://{addr}"),
            shared,
            task,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Received> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The chat requests received so far (title requests and body-less
    /// requests such as model listings left out).
    pub fn chat_requests(&self) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| !r.is_title_request() && !r.body.is_null())
            .collect()
    }

    /// How many streamed responses the client stopped reading before their end.
    pub fn streams_closed_early(&self) -> usize {
        self.shared.closed_early.load(Ordering::SeqCst)
    }

    /// Waits until the client has abandoned a streamed response (closed the
    /// upstream request), failing the test if it never does.
    pub async fn wait_for_early_close(&self) {
        tokio::time::timeout(super::PATIENCE, async {
            while self.streams_closed_early() == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the upstream request is closed, so no more tokens are paid for");
    }
}

/// The words Arbor's title request starts with (see `chat::title::TITLE_PROMPT`).
pub const TITLE_REQUEST: &str = "Write a title of 2 to 8 words";

impl Received {
    /// Whether this request asked for a conversation title.
    pub fn is_title_request(&self) -> bool {
        self.body.to_string().contains(TITLE_REQUEST)
    }
}

/// What the fakes answer to a title request, as a model might (quoted, with a period).
pub const FAKE_TITLE_ANSWER: &str = "\"Fake Model Title.\"";

/// `text` split into words, each keeping its trailing space.
pub fn words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_string).collect()
}

/// A streamed `text/event-stream` response.
pub fn streamed(script: Script, shared: &Shared) -> Response {
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(script.into_body(shared.closed_early.clone()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// One thing a fake does while streaming.
pub enum Step {
    Send(Bytes),
    Pause(Duration),
    /// End the body with an error: the connection is cut without a proper end.
    Cut,
    /// Keep the connection open and send nothing more.
    Hang,
}

/// A streamed response, step by step.
#[derive(Default)]
pub struct Script(Vec<Step>);

impl Script {
    /// Appends one SSE event (`text` is the whole event, blank line
    /// included), written in two halves.
    pub fn event(mut self, text: &str) -> Script {
        let mut middle = text.len() / 2;
        while !text.is_char_boundary(middle) {
            middle += 1;
        }
        let (head, tail) = text.split_at(middle);
        self.0.push(Step::Send(Bytes::from(head.to_string())));
        self.0.push(Step::Pause(Duration::from_millis(1)));
        self.0.push(Step::Send(Bytes::from(tail.to_string())));
        self
    }

    /// Appends any step.
    pub fn then(mut self, step: Step) -> Script {
        self.0.push(step);
        self
    }

    /// The response body; `closed_early` counts clients that hung up before the end.
    pub fn into_body(self, closed_early: Arc<AtomicUsize>) -> Body {
        let guard = EarlyCloseGuard {
            closed_early,
            finished: false,
        };
        let steps = self.0.into_iter();
        Body::from_stream(stream::unfold(
            (steps, guard),
            |(mut steps, mut guard)| async move {
                loop {
                    match steps.next() {
                        None => {
                            guard.complete();
                            return None;
                        }
                        Some(Step::Send(bytes)) => return Some((Ok(bytes), (steps, guard))),
                        Some(Step::Pause(pause)) => tokio::time::sleep(pause).await,
                        Some(Step::Cut) => {
                            guard.complete();
                            let error = std::io::Error::other("connection cut by the fake");
                            return Some((Err(error), (steps, guard)));
                        }
                        Some(Step::Hang) => std::future::pending::<()>().await,
                    }
                }
            },
        ))
    }
}

/// Counts a streamed response dropped before its end (the client hung up).
struct EarlyCloseGuard {
    closed_early: Arc<AtomicUsize>,
    finished: bool,
}

impl EarlyCloseGuard {
    /// The response reached its scripted end (even if that end is a cut).
    fn complete(&mut self) {
        self.finished = true;
    }
}

impl Drop for EarlyCloseGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.closed_early.fetch_add(1, Ordering::SeqCst);
        }
    }
}
