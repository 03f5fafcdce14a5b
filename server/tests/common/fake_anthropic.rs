//! A fake Anthropic Messages API for tests: real HTTP on 127.0.0.1 and the
//! exact streaming format of `POST /v1/messages` (`event:` + `data:` pairs:
//! `message_start`, `content_block_start`, `ping`, `content_block_delta`,
//! `content_block_stop`, `message_delta`, `message_stop`). The requested
//! model picks the behaviour:
//!
//! - `fake-echo`: answers "You said: <last user message>" word by word;
//! - `fake-401`: an `authentication_error` with status 401;
//! - `fake-overloaded`: an `overloaded_error` with status 529;
//! - `fake-error-event`: two words, then an `error` event mid-stream;
//! - `fake-slow`: forty words 50 ms apart;
//! - `fake-tools`: when offered tools and the last turn holds no
//!   `tool_result`, a `tool_use` block calling `message_history` with
//!   `{"limit": 2}` (its input streamed as `input_json_delta` fragments);
//!   after a result it answers "Tool answered: <result>".

use super::fake_openai::last_user_text;
use super::fake_server::{
    streamed, words, FakeServer, Script, Shared, Step, FAKE_TITLE_ANSWER, TITLE_REQUEST,
};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Starts the fake; its API base is its origin.
pub async fn start() -> FakeServer {
    FakeServer::start(Router::new().route("/v1/messages", post(messages))).await
}

fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn error_body(kind: &str, message: &str) -> Value {
    json!({ "type": "error", "error": { "type": kind, "message": message } })
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    shared.record(headers, body.clone());
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let last_user = last_user_text(&body);
    let fast = Duration::from_millis(1);
    let script = match model.as_str() {
        "fake-401" => {
            let body = error_body("authentication_error", "invalid x-api-key");
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
        "fake-overloaded" => {
            let status = StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return (status, Json(error_body("overloaded_error", "Overloaded"))).into_response();
        }
        "fake-error-event" => with_words(&model, words("half an "), fast).event(&event(
            "error",
            error_body("overloaded_error", "Overloaded"),
        )),
        "fake-slow" => finished(with_words(
            &model,
            words(&"tick ".repeat(40)),
            Duration::from_millis(50),
        )),
        "fake-tools" => tool_script(&model, &body),
        _ if last_user.contains(TITLE_REQUEST) => {
            finished(with_words(&model, words(FAKE_TITLE_ANSWER), fast))
        }
        _ => finished(with_words(
            &model,
            words(&format!("You said: {last_user}")),
            fast,
        )),
    };
    streamed(script, &shared)
}

/// The behaviour of `fake-tools` (see the module documentation).
fn tool_script(model: &str, body: &Value) -> Script {
    let fast = Duration::from_millis(1);
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_default();
    let result = last["content"]
        .as_array()
        .and_then(|blocks| blocks.iter().find(|b| b["type"] == "tool_result"))
        .and_then(|b| b["content"].as_str())
        .map(str::to_string);
    let offered = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    if let Some(result) = result.filter(|_| offered) {
        return finished(with_words(
            model,
            words(&format!("Tool answered: {result}")),
            fast,
        ));
    }
    let block = json!({
        "type": "content_block_start", "index": 0,
        "content_block": { "type": "tool_use", "id": "toolu_fake", "name": "message_history", "input": {} },
    });
    let mut script = Script::default()
        .event(&message_start(model))
        .event(&event("content_block_start", block));
    for fragment in ["{\"limit\":", " 2}"] {
        let delta = json!({
            "type": "content_block_delta", "index": 0,
            "delta": { "type": "input_json_delta", "partial_json": fragment },
        });
        script = script
            .then(Step::Pause(fast))
            .event(&event("content_block_delta", delta));
    }
    ended(script, "tool_use")
}

/// The event that opens every streamed message (12 input tokens).
fn message_start(model: &str) -> String {
    let start = json!({
        "type": "message_start",
        "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "content": [],
            "model": model, "stop_reason": null, "stop_sequence": null,
            "usage": { "input_tokens": 12, "output_tokens": 1 },
        },
    });
    event("message_start", start)
}

/// The opening events, then one text delta per word (with a ping among them).
fn with_words(model: &str, words: Vec<String>, pause: Duration) -> Script {
    let block = json!({
        "type": "content_block_start", "index": 0,
        "content_block": { "type": "text", "text": "" },
    });
    let mut script = Script::default()
        .event(&message_start(model))
        .event(&event("content_block_start", block))
        .event(&event("ping", json!({ "type": "ping" })));
    for word in words {
        let delta = json!({
            "type": "content_block_delta", "index": 0,
            "delta": { "type": "text_delta", "text": word },
        });
        script = script
            .then(Step::Pause(pause))
            .event(&event("content_block_delta", delta));
    }
    script
}

/// The proper end of a message.
fn finished(script: Script) -> Script {
    ended(script, "end_turn")
}

/// The closing events: the block ends, then the message with
/// `stop_reason` (9 output tokens).
fn ended(script: Script, stop_reason: &str) -> Script {
    script
        .event(&event(
            "content_block_stop",
            json!({ "type": "content_block_stop", "index": 0 }),
        ))
        .event(&event(
            "message_delta",
            json!({
                "type": "message_delta",
                "delta": { "stop_reason": stop_reason, "stop_sequence": null },
                "usage": { "output_tokens": 9 },
            }),
        ))
        .event(&event("message_stop", json!({ "type": "message_stop" })))
}
