//! A fake OpenAI-compatible server for tests: real HTTP on 127.0.0.1 and
//! the exact wire format of `POST /v1/chat/completions` with `stream: true`
//! (`data: {chunk}` events, a final `finish_reason`, `data: [DONE]`). The
//! requested model picks the behaviour:
//!
//! - `fake-echo`: answers "You said: <last user message>" word by word;
//! - `fake-401`, `fake-429`: OpenAI's JSON error bodies with those statuses;
//! - `fake-500`: a plain-text 500;
//! - `fake-cut`: three words, then the connection is cut mid-body;
//! - `fake-malformed`: one word, then a chunk that is not JSON;
//! - `fake-stall`: one word, then silence with the connection open;
//! - `fake-slow`: forty words 50 ms apart;
//! - `fake-tools`: when offered tools and the last message is not a tool
//!   result, calls the tool the last user message names (`message_history`
//!   with `{"limit": 2}`, `list_conversations`, else `current_time`), its
//!   arguments streamed in fragments; after a tool result it answers
//!   "Tool answered: <result>";
//! - `fake-tools-loop`: calls `current_time` whenever tools are offered,
//!   and answers "No more tools." when they are not.
//!
//! `GET /v1/models` lists these models.

use super::fake_server::{
    streamed, words, FakeServer, Script, Shared, Step, FAKE_TITLE_ANSWER, TITLE_REQUEST,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Starts a fake OpenAI-compatible server; its API base is `{origin}/v1`.
pub async fn start() -> FakeServer {
    FakeServer::start(
        Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/models", get(models)),
    )
    .await
}

/// The models this fake serves, as `GET /v1/models` lists them.
pub const FAKE_MODELS: [&str; 7] = [
    "fake-echo",
    "fake-401",
    "fake-429",
    "fake-500",
    "fake-cut",
    "fake-malformed",
    "fake-slow",
];

/// Lists [`FAKE_MODELS`]; the request is recorded with a null body.
async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Json<Value> {
    shared.record(headers, Value::Null);
    let data: Vec<Value> = FAKE_MODELS
        .iter()
        .map(|id| json!({ "id": id, "object": "model", "created": 1_700_000_000, "owned_by": "fake" }))
        .collect();
    Json(json!({ "object": "list", "data": data }))
}

/// The text of the last user message in a request body.
pub fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shared.record(headers, body.clone());
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let error = |status: u16, message: &str, kind: &str, code: &str| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            json!({ "error": { "message": message, "type": kind, "param": null, "code": code } });
        (status, Json(body)).into_response()
    };
    let fast = Duration::from_millis(1);
    let script = match model.as_str() {
        "fake-401" => {
            let message = "Incorrect API key provided: sk-te****-key.";
            return error(401, message, "invalid_request_error", "invalid_api_key");
        }
        "fake-429" => {
            let message = "Rate limit reached for requests.";
            return error(429, message, "requests", "rate_limit_exceeded");
        }
        "fake-500" => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
        }
        // The words already sent arrive before the connection dies.
        "fake-cut" => with_words(&model, words("one two three "), fast)
            .then(Step::Pause(Duration::from_millis(100)))
            .then(Step::Cut),
        "fake-malformed" => with_words(&model, words("first "), fast).event("data: {not json\n\n"),
        "fake-stall" => with_words(&model, words("first "), fast).then(Step::Hang),
        "fake-slow" => finished(
            with_words(
                &model,
                words(&"tick ".repeat(40)),
                Duration::from_millis(50),
            ),
            &body,
            40,
        ),
        "fake-tools" | "fake-tools-loop" => tool_script(&model, &body),
        _ if body.to_string().contains(TITLE_REQUEST) => {
            let answer = words(FAKE_TITLE_ANSWER);
            let count = answer.len();
            finished(with_words(&model, answer, fast), &body, count)
        }
        _ => {
            let answer = words(&format!("You said: {}", last_user_text(&body)));
            let count = answer.len();
            finished(with_words(&model, answer, fast), &body, count)
        }
    };
    streamed(script, &shared)
}

/// The behaviour of the tool-calling models (see the module documentation).
fn tool_script(model: &str, body: &Value) -> Script {
    let fast = Duration::from_millis(1);
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let offered = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    let last = messages.last().cloned().unwrap_or_default();
    let answer = |text: String| {
        let answer = words(&text);
        let count = answer.len();
        finished(with_words(model, answer, fast), body, count)
    };
    if !offered {
        return answer("No more tools.".into());
    }
    if model == "fake-tools" && last["role"] == "tool" {
        let result = last["content"].as_str().unwrap_or_default();
        return answer(format!("Tool answered: {result}"));
    }
    let asked = last_user_text(body);
    let (name, fragments): (&str, &[&str]) = if model == "fake-tools-loop" {
        ("current_time", &[])
    } else if asked.contains("message_history") {
        ("message_history", &["{\"limit\":", " 2}"])
    } else if asked.contains("list_conversations") {
        ("list_conversations", &["{}"])
    } else {
        ("current_time", &[])
    };
    let results = messages.iter().filter(|m| m["role"] == "tool").count();
    let start = json!({ "tool_calls": [{
        "index": 0, "id": format!("call_{results}"), "type": "function",
        "function": { "name": name, "arguments": "" },
    }] });
    let mut script = Script::default()
        .event(&chunk(
            model,
            json!({ "role": "assistant", "content": null }),
            Value::Null,
        ))
        .event(&chunk(model, start, Value::Null));
    for fragment in fragments {
        let piece =
            json!({ "tool_calls": [{ "index": 0, "function": { "arguments": fragment } }] });
        script = script
            .then(Step::Pause(fast))
            .event(&chunk(model, piece, Value::Null));
    }
    script
        .event(&chunk(model, json!({}), json!("tool_calls")))
        .event("data: [DONE]\n\n")
}

fn chunk(model: &str, delta: Value, finish_reason: Value) -> String {
    let chunk = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{ "index": 0, "delta": delta, "finish_reason": finish_reason }],
    });
    format!("data: {chunk}\n\n")
}

/// A role chunk, then one chunk per word.
fn with_words(model: &str, words: Vec<String>, pause: Duration) -> Script {
    let role = json!({ "role": "assistant", "content": "" });
    let mut script = Script::default().event(&chunk(model, role, Value::Null));
    for word in words {
        script = script.then(Step::Pause(pause)).event(&chunk(
            model,
            json!({ "content": word }),
            Value::Null,
        ));
    }
    script
}

/// The proper end: a chunk with `finish_reason`, the usage chunk when the
/// request asked for it (7 prompt tokens, one completion token a word),
/// then `[DONE]`.
fn finished(script: Script, request: &Value, words: usize) -> Script {
    let model = request["model"].as_str().unwrap_or_default();
    let mut script = script.event(&chunk(model, json!({}), json!("stop")));
    if request["stream_options"]["include_usage"] == true {
        let usage = json!({
            "id": "chatcmpl-fake", "object": "chat.completion.chunk",
            "created": 1_700_000_000, "model": model, "choices": [],
            "usage": { "prompt_tokens": 7, "completion_tokens": words, "total_tokens": 7 + words },
        });
        script = script.event(&format!("data: {usage}\n\n"));
    }
    script.event("data: [DONE]\n\n")
}
