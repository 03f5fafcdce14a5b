//! The config file, the model catalog and per-conversation generation
//! settings, end to end: a real Arbor reading a TOML file, a fake
//! OpenAI-compatible server, and the rows in the SQLite file.

mod common;

use app::domain::model::{EffectiveModel, MessageStatus, ModelChoices};
use common::fake_openai::{self, FAKE_MODELS};
use common::{fake_server::FakeServer, TestServer};
use serde_json::json;

/// A config with one OpenAI-compatible provider (the fake), a model with
/// defaults, a persona, and the offline model as the default.
fn config_text(fake: &FakeServer) -> String {
    format!(
        r#"
default_model = "offline/arbor-offline"

[[providers]]
name = "local"
kind = "openai"
base_url = "{origin}/v1"
api_key_env = "TEST_LOCAL_KEY"
extra_sampler_fields = ["top_k"]

[[providers.models]]
id = "fake-echo"
label = "Echo"
params = {{ temperature = 0.5, top_k = 20, max_tokens = 50 }}

[[personas]]
name = "Pirate"
system_prompt = "Talk like a pirate."
model = "local/fake-echo"
params = {{ temperature = 1.25, min_p = 0.1 }}
"#,
        origin = fake.origin
    )
}

async fn arbor_with_config(dir: &std::path::Path, text: &str) -> TestServer {
    let path = dir.join("arbor.toml");
    std::fs::write(&path, text).expect("config written");
    let path = path.to_string_lossy().into_owned();
    TestServer::start(
        dir,
        &[("ARBOR_CONFIG", &path), ("TEST_LOCAL_KEY", "sk-from-env")],
    )
    .await
}

async fn set_settings(
    server: &TestServer,
    conversation: uuid::Uuid,
    settings: serde_json::Value,
) -> Result<EffectiveModel, common::Failure> {
    server
        .call(
            "set_generation_settings",
            json!({ "id": conversation, "settings": settings }),
        )
        .await
}

#[tokio::test]
async fn the_picker_lists_configured_discovered_and_offline_models_and_personas() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor_with_config(dir.path(), &config_text(&fake)).await;
    let choices: ModelChoices = server
        .call("model_choices", json!({}))
        .await
        .expect("choices");
    let keys: Vec<&str> = choices.models.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys[0], "local/fake-echo", "configured models first");
    assert_eq!(choices.models[0].label, "Echo");
    assert_eq!(choices.models[0].defaults.top_k, Some(20));
    for id in FAKE_MODELS {
        let key = format!("local/{id}");
        assert_eq!(
            keys.iter().filter(|k| **k == key).count(),
            1,
            "{key} listed once (from GET /v1/models)"
        );
    }
    assert_eq!(keys.last(), Some(&"offline/arbor-offline"));
    assert_eq!(choices.default_model, "offline/arbor-offline");
    assert_eq!(choices.personas[0].name, "Pirate");
    let listing = fake
        .requests()
        .into_iter()
        .find(|r| r.body.is_null())
        .expect("the models were listed");
    assert_eq!(
        listing.headers["authorization"], "Bearer sk-from-env",
        "the key comes from the variable api_key_env names"
    );
}

#[tokio::test]
async fn persona_model_and_sampler_layers_decide_each_new_reply() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor_with_config(dir.path(), &config_text(&fake)).await;
    let conversation = server.create_conversation().await.id;

    // Nothing chosen: the default (offline) model answers.
    let first = server.send(conversation, None, "hello").await;
    let first = server
        .wait_until_finished(conversation, first.assistant.id)
        .await;
    assert_eq!(first.model.as_deref(), Some("offline/arbor-offline"));

    // The persona brings its model; the conversation sets top_p itself.
    let model = set_settings(
        &server,
        conversation,
        json!({ "model": null, "persona": "Pirate", "params": { "top_p": 0.9 } }),
    )
    .await
    .expect("settings accepted");
    assert_eq!(model.key, "local/fake-echo");
    assert!(!model.offline);
    let view = server.conversation(conversation).await;
    assert_eq!(view.settings.persona.as_deref(), Some("Pirate"));
    assert_eq!(view.model.key, "local/fake-echo");

    let second = server.send(conversation, Some(first.id), "ahoy").await;
    let second = server
        .wait_until_finished(conversation, second.assistant.id)
        .await;
    assert_eq!(second.status, MessageStatus::Complete);
    assert_eq!(second.model.as_deref(), Some("local/fake-echo"));

    let sent = fake.chat_requests().last().expect("a request").body.clone();
    assert_eq!(sent["model"], "fake-echo");
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][0]["content"], "Talk like a pirate.");
    assert_eq!(
        sent["temperature"], 1.25,
        "the persona beats the model default"
    );
    assert_eq!(sent["top_k"], 20, "the model default fills in");
    assert_eq!(sent["max_tokens"], 50);
    assert!(
        (sent["top_p"].as_f64().expect("top_p sent") - 0.9).abs() < 1e-6,
        "the conversation's value wins"
    );
    assert!(sent.get("min_p").is_none(), "unsupported here: never sent");
    assert!(sent.get("seed").is_none(), "no seed unless one is set");

    let params = second.params.clone().expect("params recorded");
    assert_eq!(params.persona.as_deref(), Some("Pirate"));
    assert_eq!(params.system_prompt.as_deref(), Some("Talk like a pirate."));
    assert_eq!(params.sampler.temperature, Some(1.25));
    assert_eq!(params.sampler.min_p, None);
    let row = server.stored(conversation, second.id).await;
    assert_eq!(row.model.as_deref(), Some("local/fake-echo"));
    assert_eq!(row.params, Some(params));

    // Switching the model back affects only new replies.
    set_settings(
        &server,
        conversation,
        json!({ "model": "offline/arbor-offline", "persona": null, "params": {} }),
    )
    .await
    .expect("settings accepted");
    let third = server
        .regenerate(conversation, second.id)
        .await
        .expect("regenerated");
    let third = server
        .wait_until_finished(conversation, third.assistant.id)
        .await;
    assert_eq!(third.model.as_deref(), Some("offline/arbor-offline"));
    let seed = third.params.expect("params").sampler.seed;
    assert!(seed.is_some(), "the offline model's seed is recorded");
    let view = server.conversation(conversation).await;
    let kept = common::find(&view, second.id);
    assert_eq!(kept.model.as_deref(), Some("local/fake-echo"));
    assert_eq!(
        server
            .stored(conversation, second.id)
            .await
            .model
            .as_deref(),
        Some("local/fake-echo")
    );
}

#[tokio::test]
async fn unknown_models_personas_and_bad_values_are_refused_and_change_nothing() {
    let fake = fake_openai::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = arbor_with_config(dir.path(), &config_text(&fake)).await;
    let conversation = server.create_conversation().await.id;
    let refusals = [
        json!({ "model": "local/no-such-model", "persona": null, "params": {} }),
        json!({ "model": "nowhere/x", "persona": null, "params": {} }),
        json!({ "model": null, "persona": "Nobody", "params": {} }),
        json!({ "model": null, "persona": null, "params": { "temperature": 7.0 } }),
        json!({ "model": null, "persona": null, "params": { "temprature": 1.0 } }),
    ];
    for settings in refusals {
        let failure = set_settings(&server, conversation, settings.clone())
            .await
            .expect_err("refused");
        assert_eq!(failure.status, 400, "{settings}: {:?}", failure.body);
    }
    let view = server.conversation(conversation).await;
    assert_eq!(view.settings, Default::default());
    assert_eq!(view.model.key, "offline/arbor-offline");
    let foreign = set_settings(
        &server,
        uuid::Uuid::now_v7(),
        json!({ "model": null, "persona": null, "params": {} }),
    )
    .await
    .expect_err("no such conversation");
    assert_eq!(foreign.status, 404);
}

#[tokio::test]
async fn a_bad_config_file_stops_start_up_naming_file_line_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("arbor.toml");
    std::fs::write(
        &path,
        "[[providers]]\nname = \"local\"\nkind = \"openai\"\ntemprature = 0.5\n",
    )
    .expect("written");
    let path = path.to_string_lossy().into_owned();
    let stderr = TestServer::fails_to_start(dir.path(), &["--config", &path], &[]).await;
    assert!(
        stderr.contains(&format!("{path}:4: temprature: unknown field")),
        "stderr: {stderr}"
    );

    std::fs::write(
        dir.path().join("arbor.toml"),
        "[[personas]]\nname = \"p\"\nmodel = \"gone/model\"\n",
    )
    .expect("written");
    let stderr = TestServer::fails_to_start(dir.path(), &[], &[("ARBOR_CONFIG", &path)]).await;
    assert!(
        stderr.contains(&format!("{path}:3: model: ")),
        "stderr: {stderr}"
    );

    let missing = dir.path().join("missing.toml");
    let missing = missing.to_string_lossy().into_owned();
    let stderr =
        TestServer::fails_to_start(dir.path(), &[&format!("--config={missing}")], &[]).await;
    assert!(
        stderr.contains("cannot read the config file"),
        "stderr: {stderr}"
    );
}
