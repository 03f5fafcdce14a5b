//! A fake OpenAI-compatible server for tests: real HTTP on 127.0.0.1 and
//! the exact wire format of `POST /v1/chat/completions` with `stream: true`
//! (`data: {chunk}` events, a final `finish_reason`, `data: [DONE]`), each
//! event split across two writes. The requested model picks the behaviour:
//!
//! - `fake-echo`: answers "You said: <last user message>" word by word;
//! - `fake-401`, `fake-429`: OpenAI's JSON error bodies with those statuses;
//! - `fake-500`: a plain-text 500;
//! - `fake-cut`: three words, then the connection is cut mid-body;
//! - `fake-malformed`: one word, then a chunk that is not JSON;
//! - `fake-stall`: one word, then silence with the connection open;
//! - `fake-slow`: forty words 50 ms apart.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::stream;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Received>>,
    closed_early: AtomicUsize,
}

/// The running fake; stopped when dropped.
pub struct FakeOpenAi {
    /// What to put in `OPENAI_BASE_URL`.
    pub base_url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAi {
    pub async fn start() -> FakeOpenAi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            _ = axum::serve(listener, app).await;
        });
        FakeOpenAi {
            base_url: format!("http://{addr}/v1"),
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

    /// How many streamed responses the client stopped reading before their end.
    pub fn streams_closed_early(&self) -> usize {
        self.shared.closed_early.load(Ordering::SeqCst)
    }
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shared
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Received {
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: body.clone(),
        });
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let last_user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    let api_error = |status: u16, message: &str, kind: &str, code: &str| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            json!({ "error": { "message": message, "type": kind, "param": null, "code": code } });
        (status, Json(body)).into_response()
    };
    let words =
        |text: &str| -> Vec<String> { text.split_inclusive(' ').map(str::to_string).collect() };
    let plan = match model.as_str() {
        "fake-401" => {
            return api_error(
                401,
                "Incorrect API key provided: sk-te****-key.",
                "invalid_request_error",
                "invalid_api_key",
            )
        }
        "fake-429" => {
            return api_error(
                429,
                "Rate limit reached for requests.",
                "requests",
                "rate_limit_exceeded",
            )
        }
        "fake-500" => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
        }
        "fake-cut" => {
            Plan::words(&model, words("one two three "), Duration::from_millis(1))
                // The words already sent arrive before the connection dies.
                .then(Step::Pause(Duration::from_millis(100)))
                .then(Step::Cut)
        }
        "fake-malformed" => Plan::words(&model, words("first "), Duration::from_millis(1))
            .then(Step::Send(Bytes::from_static(b"data: {not json\n\n"))),
        "fake-stall" => {
            Plan::words(&model, words("first "), Duration::from_millis(1)).then(Step::Hang)
        }
        "fake-slow" => Plan::words(
            &model,
            words(&"tick ".repeat(40)),
            Duration::from_millis(50),
        )
        .finished(&model),
        _ => Plan::words(
            &model,
            words(&format!("You said: {last_user}")),
            Duration::from_millis(1),
        )
        .finished(&model),
    };
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(plan.into_body(shared))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// One thing the fake does while streaming.
enum Step {
    Send(Bytes),
    Pause(Duration),
    /// End the body with an error: the connection is cut without a proper end.
    Cut,
    /// Keep the connection open and send nothing more.
    Hang,
}

struct Plan(Vec<Step>);

fn event(chunk: &Value) -> String {
    format!("data: {chunk}\n\n")
}

fn chunk(model: &str, delta: Value, finish_reason: Value) -> Value {
    json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
    })
}

impl Plan {
    /// A role chunk, then one chunk per word, each event written in two halves.
    fn words(model: &str, words: Vec<String>, pause: Duration) -> Plan {
        let mut plan = Plan(Vec::new());
        plan.split_event(&event(&chunk(
            model,
            json!({ "role": "assistant", "content": "" }),
            Value::Null,
        )));
        for word in words {
            plan.0.push(Step::Pause(pause));
            plan.split_event(&event(&chunk(
                model,
                json!({ "content": word }),
                Value::Null,
            )));
        }
        plan
    }

    /// The proper end: a chunk with `finish_reason`, then `[DONE]`.
    fn finished(mut self, model: &str) -> Plan {
        self.split_event(&event(&chunk(model, json!({}), json!("stop"))));
        self.split_event("data: [DONE]\n\n");
        self
    }

    fn then(mut self, step: Step) -> Plan {
        self.0.push(step);
        self
    }

    fn split_event(&mut self, text: &str) {
        let mut middle = text.len() / 2;
        while !text.is_char_boundary(middle) {
            middle += 1;
        }
        let (head, tail) = text.split_at(middle);
        self.0.push(Step::Send(Bytes::from(head.to_string())));
        self.0.push(Step::Pause(Duration::from_millis(1)));
        self.0.push(Step::Send(Bytes::from(tail.to_string())));
    }

    fn into_body(self, shared: Arc<Shared>) -> Body {
        let guard = EarlyCloseGuard {
            shared,
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
    shared: Arc<Shared>,
    finished: bool,
}

impl EarlyCloseGuard {
    /// The response reached its planned end (even if that end is a cut).
    fn complete(&mut self) {
        self.finished = true;
    }
}

impl Drop for EarlyCloseGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.closed_early.fetch_add(1, Ordering::SeqCst);
        }
    }
}
