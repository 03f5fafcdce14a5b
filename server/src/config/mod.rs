//! Run-time settings, read from environment variables (all optional).

use crate::secret::Secret;
use app::domain::model::DEFAULT_MAX_MESSAGE_CHARS;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod access;
mod env;
pub mod file;
mod local_model;

pub use access::AccessSettings;
pub use env::ConfigError;
use env::{env_value, parse};
pub use local_model::{LocalModelConfig, LocalModelFile, DEFAULT_MODEL_FILE};

/// Shortest idle time before an actor stops: below this it would stop (and
/// reset its subscribers) between two requests of one page.
const MIN_ACTOR_IDLE: Duration = Duration::from_secs(1);

/// Which model answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// The built-in offline model (when no provider is configured).
    Offline,
    /// An OpenAI-compatible endpoint: OpenAI, Ollama, vLLM, llama.cpp,
    /// LM Studio, OpenRouter, Gemini's compatible endpoint...
    OpenAiCompatible {
        /// `OPENAI_BASE_URL`, e.g. `http://localhost:11434/v1`.
        base_url: String,
        /// `OPENAI_API_KEY` (may be empty for local servers).
        api_key: Secret,
        /// `ARBOR_MODEL`.
        model: String,
    },
    /// Anthropic's Messages API (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`,
    /// `ANTHROPIC_BETA`, `ARBOR_MODEL`, `ARBOR_MAX_TOKENS`).
    Anthropic {
        settings: crate::providers::AnthropicSettings,
        model: String,
    },
}

/// Anthropic's API base unless `ANTHROPIC_BASE_URL` says otherwise.
pub const ANTHROPIC_DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The API base used when only `OPENAI_API_KEY` is set.
pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The model used with OpenAI itself when `ARBOR_MODEL` is not set.
pub const OPENAI_DEFAULT_MODEL: &str = "gpt-4o-mini";

/// Everything configurable about a running Arbor.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The provider the environment variables configure (see [`ModelSource`]).
    pub model_source: ModelSource,
    /// `ARBOR_CONFIG` (or `--config`): the TOML file of providers, models and personas.
    pub config_file: Option<PathBuf>,
    /// `ARBOR_CONNECT_TIMEOUT_SECS`: how long to wait for a provider to accept a connection.
    pub connect_timeout: Duration,
    /// `ARBOR_STREAM_IDLE_SECS`: a reply that receives nothing for this long fails.
    pub stream_idle_timeout: Duration,
    /// `ARBOR_STREAM_FRAME_MS`: a reply's text goes out at most this often
    /// (text that comes meanwhile travels together; 0: each piece at once).
    pub stream_frame: Duration,
    /// `ARBOR_DATABASE_URL`: `sqlite://path/to/file.db` or a plain path, or
    /// `postgres://user@host/database` for PostgreSQL.
    pub database_url: String,
    /// `ARBOR_ADDR`: where to listen (port 0 picks a free one).
    pub addr: SocketAddr,
    /// `ARBOR_SITE_ROOT`: the folder cargo-leptos built the site into.
    pub site_root: String,
    /// `ARBOR_OFFLINE_TOKEN_MS`: the offline model's pause per token.
    pub offline_token_delay: Duration,
    /// `ARBOR_OFFLINE_FAIL_AFTER`: make every offline reply fail after N tokens (tests).
    pub offline_fail_after: Option<usize>,
    /// `ARBOR_OFFLINE_MIN_TOKENS`: offline replies go on until this long (benchmarks).
    pub offline_min_tokens: usize,
    /// `ARBOR_MAX_MESSAGE_CHARS`: longest accepted message.
    pub max_message_chars: usize,
    /// `ARBOR_MAX_IMPORT_BYTES`: largest file accepted for import (default 256 MiB).
    pub max_import_bytes: u64,
    /// `ARBOR_MAX_IMPORT_UNPACKED_BYTES`: largest JSON an imported file may
    /// unpack to (default 1 GiB), so a small zip cannot expand without end.
    pub max_import_unpacked_bytes: u64,
    /// `ARBOR_ACTOR_IDLE_SECS`: how long an unused conversation stays in memory (at least 1 s).
    pub actor_idle: Duration,
    /// `ARBOR_CHECKPOINT_MS`: how often a streaming reply's text is saved.
    pub checkpoint_every: Duration,
    /// Accounts, sessions and the limits that protect them.
    pub access: AccessSettings,
    /// The in-process model: which GGUF file, and how it runs.
    pub local_model: LocalModelConfig,
    /// `ARBOR_NODE_URL`: the base URL other nodes reach this one at (on a
    /// shared PostgreSQL database); none: `http://` and the bound address.
    pub node_url: Option<String>,
    /// `ARBOR_LEASE_SECS`: how long a node owns a conversation without
    /// renewing (at least 1 s; renewed every third of it).
    pub lease: Duration,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (name to value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let fail_after: i64 = parse(&lookup, "ARBOR_OFFLINE_FAIL_AFTER", -1)?;
        let max_message_chars: usize = parse(
            &lookup,
            "ARBOR_MAX_MESSAGE_CHARS",
            DEFAULT_MAX_MESSAGE_CHARS,
        )?;
        if max_message_chars == 0 {
            return Err(ConfigError {
                name: "ARBOR_MAX_MESSAGE_CHARS",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(Config {
            model_source: model_source(&lookup)?,
            config_file: env_value(&lookup, "ARBOR_CONFIG").map(PathBuf::from),
            connect_timeout: Duration::from_secs(parse(&lookup, "ARBOR_CONNECT_TIMEOUT_SECS", 10)?)
                .max(MIN_TIMEOUT),
            stream_idle_timeout: Duration::from_secs(parse(
                &lookup,
                "ARBOR_STREAM_IDLE_SECS",
                120,
            )?)
            .max(MIN_TIMEOUT),
            stream_frame: Duration::from_millis(parse(&lookup, "ARBOR_STREAM_FRAME_MS", 16)?),
            database_url: lookup("ARBOR_DATABASE_URL")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "data/arbor.db".into()),
            addr: parse(
                &lookup,
                "ARBOR_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
            )?,
            site_root: lookup("ARBOR_SITE_ROOT")
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| "target/site".into()),
            offline_token_delay: Duration::from_millis(parse(
                &lookup,
                "ARBOR_OFFLINE_TOKEN_MS",
                30,
            )?),
            offline_fail_after: usize::try_from(fail_after).ok(),
            offline_min_tokens: parse(&lookup, "ARBOR_OFFLINE_MIN_TOKENS", 0)?,
            max_message_chars,
            max_import_bytes: parse(&lookup, "ARBOR_MAX_IMPORT_BYTES", 256 * 1024 * 1024)?,
            max_import_unpacked_bytes: parse(
                &lookup,
                "ARBOR_MAX_IMPORT_UNPACKED_BYTES",
                1024 * 1024 * 1024,
            )?,
            actor_idle: Duration::from_secs(parse(&lookup, "ARBOR_ACTOR_IDLE_SECS", 300)?)
                .max(MIN_ACTOR_IDLE),
            checkpoint_every: Duration::from_millis(parse(&lookup, "ARBOR_CHECKPOINT_MS", 1000)?),
            access: AccessSettings::from_lookup(&lookup)?,
            local_model: LocalModelConfig::from_lookup(&lookup)?,
            node_url: node_url(&lookup)?,
            lease: Duration::from_secs(parse(&lookup, "ARBOR_LEASE_SECS", 15)?).max(MIN_LEASE),
        })
    }
}

/// Shortest lease: below it a node could lose conversations between two renewals.
const MIN_LEASE: Duration = Duration::from_secs(1);

fn node_url(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = env_value(lookup, "ARBOR_NODE_URL") else {
        return Ok(None);
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError {
            name: "ARBOR_NODE_URL",
            value: url,
            reason: "must start with http:// or https://".into(),
        });
    }
    Ok(Some(url.trim_end_matches('/').to_string()))
}

fn anthropic(
    lookup: &impl Fn(&str) -> Option<String>,
    api_key: String,
) -> Result<ModelSource, ConfigError> {
    let value = |name: &str| env_value(lookup, name);
    let model = value("ARBOR_MODEL").ok_or_else(|| ConfigError {
        name: "ARBOR_MODEL",
        value: String::new(),
        reason: "name the Anthropic model to use (a current Claude model id)".into(),
    })?;
    let base_url = value("ANTHROPIC_BASE_URL").unwrap_or_else(|| ANTHROPIC_DEFAULT_BASE_URL.into());
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(ConfigError {
            name: "ANTHROPIC_BASE_URL",
            value: base_url,
            reason: "must start with http:// or https://".into(),
        });
    }
    let max_tokens = match value("ARBOR_MAX_TOKENS") {
        None => 4096,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(ConfigError {
                    name: "ARBOR_MAX_TOKENS",
                    value: text,
                    reason: "must be a positive whole number".into(),
                })
            }
        },
    };
    let betas = value("ANTHROPIC_BETA")
        .map(|list| {
            list.split(',')
                .map(|b| b.trim().to_string())
                .filter(|b| !b.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(ModelSource::Anthropic {
        settings: crate::providers::AnthropicSettings {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: Secret(api_key),
            max_tokens,
            betas,
        },
        model,
    })
}

/// Shortest accepted provider timeout.
const MIN_TIMEOUT: Duration = Duration::from_secs(1);

/// An OpenAI-compatible provider is used as soon as a base URL or a key is
/// given, Anthropic when its key is given; otherwise the offline model answers.
fn model_source(lookup: &impl Fn(&str) -> Option<String>) -> Result<ModelSource, ConfigError> {
    let value = |name: &str| env_value(lookup, name);
    let base_url = value("OPENAI_BASE_URL");
    let api_key = value("OPENAI_API_KEY");
    let anthropic_key = value("ANTHROPIC_API_KEY");
    if anthropic_key.is_some() && (base_url.is_some() || api_key.is_some()) {
        return Err(ConfigError {
            name: "ANTHROPIC_API_KEY",
            value: "(hidden)".into(),
            reason: "set either the OPENAI_* or the ANTHROPIC_* variables, not both".into(),
        });
    }
    if let Some(api_key) = anthropic_key {
        return anthropic(lookup, api_key);
    }
    if base_url.is_none() && api_key.is_none() {
        return Ok(ModelSource::Offline);
    }
    let model = match (value("ARBOR_MODEL"), &base_url) {
        (Some(model), _) => model,
        (None, None) => OPENAI_DEFAULT_MODEL.to_string(),
        (None, Some(url)) => {
            return Err(ConfigError {
                name: "ARBOR_MODEL",
                value: String::new(),
                reason: format!("name the model to use with OPENAI_BASE_URL={url}"),
            })
        }
    };
    let base_url = base_url.unwrap_or_else(|| OPENAI_DEFAULT_BASE_URL.to_string());
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(ConfigError {
            name: "OPENAI_BASE_URL",
            value: base_url,
            reason: "must start with http:// or https://".into(),
        });
    }
    Ok(ModelSource::OpenAiCompatible {
        base_url: base_url.trim_end_matches('/').to_string(),
        api_key: Secret(api_key.unwrap_or_default()),
        model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.database_url, "data/arbor.db");
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.offline_token_delay, Duration::from_millis(30));
        assert_eq!(config.offline_fail_after, None);
        assert_eq!(config.max_message_chars, 32_000);
    }

    #[test]
    fn values_are_read_and_bad_ones_name_the_variable() {
        let config = config(&[
            ("ARBOR_OFFLINE_TOKEN_MS", "0"),
            ("ARBOR_OFFLINE_FAIL_AFTER", "3"),
            ("ARBOR_ADDR", "127.0.0.1:0"),
        ])
        .expect("valid");
        assert_eq!(config.offline_token_delay, Duration::ZERO);
        assert_eq!(config.offline_fail_after, Some(3));
        let err =
            super::tests::config(&[("ARBOR_MAX_MESSAGE_CHARS", "lots")]).expect_err("invalid");
        assert_eq!(err.name, "ARBOR_MAX_MESSAGE_CHARS");
        assert!(super::tests::config(&[("ARBOR_MAX_MESSAGE_CHARS", "0")]).is_err());
        let idle = super::tests::config(&[("ARBOR_ACTOR_IDLE_SECS", "0")]).expect("valid");
        assert_eq!(idle.actor_idle, MIN_ACTOR_IDLE);
        let node = super::tests::config(&[
            ("ARBOR_NODE_URL", "http://10.0.0.5:3000/"),
            ("ARBOR_LEASE_SECS", "0"),
        ])
        .expect("valid");
        assert_eq!(node.node_url.as_deref(), Some("http://10.0.0.5:3000"));
        assert_eq!(node.lease, MIN_LEASE);
        let err =
            super::tests::config(&[("ARBOR_NODE_URL", "10.0.0.5:3000")]).expect_err("no scheme");
        assert_eq!(err.name, "ARBOR_NODE_URL");
    }

    #[test]
    fn no_provider_settings_means_the_offline_model() {
        assert_eq!(
            config(&[]).expect("valid").model_source,
            ModelSource::Offline
        );
    }

    #[test]
    fn a_base_url_or_a_key_selects_an_openai_compatible_provider() {
        let local = config(&[
            ("OPENAI_BASE_URL", "http://localhost:11434/v1/"),
            ("ARBOR_MODEL", "llama3.2"),
        ])
        .expect("valid");
        assert_eq!(
            local.model_source,
            ModelSource::OpenAiCompatible {
                base_url: "http://localhost:11434/v1".into(),
                api_key: Secret(String::new()),
                model: "llama3.2".into(),
            }
        );
        let openai = config(&[("OPENAI_API_KEY", "sk-x")]).expect("valid");
        assert_eq!(
            openai.model_source,
            ModelSource::OpenAiCompatible {
                base_url: OPENAI_DEFAULT_BASE_URL.into(),
                api_key: Secret("sk-x".into()),
                model: OPENAI_DEFAULT_MODEL.into(),
            }
        );
    }

    #[test]
    fn a_base_url_without_a_model_or_a_scheme_is_refused() {
        let err = config(&[("OPENAI_BASE_URL", "http://localhost:8080/v1")]).expect_err("no model");
        assert_eq!(err.name, "ARBOR_MODEL");
        let err = config(&[("OPENAI_BASE_URL", "localhost:8080"), ("ARBOR_MODEL", "m")])
            .expect_err("no scheme");
        assert_eq!(err.name, "OPENAI_BASE_URL");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config = config(&[("OPENAI_API_KEY", "sk-very-secret")]).expect("valid");
        assert!(!format!("{config:?}").contains("sk-very-secret"));
    }

    #[test]
    fn an_anthropic_key_selects_anthropic_with_its_settings() {
        let config = config(&[
            ("ANTHROPIC_API_KEY", "sk-ant-secret"),
            ("ARBOR_MODEL", "claude-x"),
            ("ANTHROPIC_BETA", "a-1, b-2"),
        ])
        .expect("valid");
        assert!(!format!("{config:?}").contains("sk-ant-secret"));
        let ModelSource::Anthropic { settings, .. } = config.model_source else {
            panic!("Anthropic expected");
        };
        assert_eq!(settings.base_url, ANTHROPIC_DEFAULT_BASE_URL);
        assert_eq!(settings.max_tokens, 4096);
        assert_eq!(settings.betas, vec!["a-1", "b-2"]);
    }

    #[test]
    fn two_providers_at_once_or_an_anthropic_key_without_model_are_refused() {
        let both = config(&[
            ("ANTHROPIC_API_KEY", "k"),
            ("OPENAI_API_KEY", "k"),
            ("ARBOR_MODEL", "m"),
        ]);
        assert_eq!(both.expect_err("conflict").name, "ANTHROPIC_API_KEY");
        let no_model = config(&[("ANTHROPIC_API_KEY", "k")]);
        assert_eq!(no_model.expect_err("model").name, "ARBOR_MODEL");
    }
}
