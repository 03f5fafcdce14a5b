//! The catalog of models: every configured provider (the offline model
//! always among them) with its models and their default sampler values, the
//! personas, and the default model. It answers the model picker (asking
//! OpenAI-compatible servers for their `/models` when reachable) and decides,
//! for each new reply, which provider, model and parameters to use.

use crate::config::file::{ConfigFile, ProviderKind};
use crate::config::{Config, ModelSource, ANTHROPIC_DEFAULT_BASE_URL, OPENAI_DEFAULT_BASE_URL};
use crate::providers::{
    Anthropic, AnthropicSettings, LocalModel, OfflineModel, OpenAiCompatible, Provider,
    ProviderError, ProviderErrorKind, LOCAL_PROVIDER, OFFLINE_MODEL, OFFLINE_PROVIDER,
};
use crate::secret::Secret;
use app::domain::model::{
    ConversationSettings, EffectiveModel, ModelChoices, ModelOption, PersonaOption,
};
use app::domain::sampling::{SamplerField, SamplerParams};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a provider's listed models are reused before asking again.
const DISCOVERY_TTL: Duration = Duration::from_secs(60);

/// A model declared in the config (or by the environment variables).
#[derive(Debug, Clone)]
struct ConfiguredModel {
    id: String,
    label: String,
    defaults: SamplerParams,
}

/// One provider and what is known of its models.
struct ProviderSlot {
    name: String,
    provider: Arc<dyn Provider>,
    models: Vec<ConfiguredModel>,
    /// Ask the endpoint for its models.
    discover: bool,
}

/// Everything needed to start one reply.
pub struct ReplyPlan {
    pub provider: Arc<dyn Provider>,
    /// `provider/model`, recorded on the reply.
    pub key: String,
    /// The id sent to the provider.
    pub model_id: String,
    /// The effective sampler values, limited to what the provider supports.
    pub params: SamplerParams,
    /// The persona's system prompt (empty when none).
    pub persona_prompt: String,
}

/// See the module documentation.
pub struct Catalog {
    /// The configured providers, in config order, then the in-process
    /// model when there is one.
    providers: Vec<ProviderSlot>,
    /// The built-in offline model, always offered last.
    offline: ProviderSlot,
    personas: Vec<PersonaOption>,
    default_model: String,
    /// Per provider: when its models were last listed, and the answer.
    discovered: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl Catalog {
    /// The catalog the environment variables and the config file describe.
    /// Keys named by `api_key_env` are read through `env`.
    pub fn build(
        config: &Config,
        file: Option<&ConfigFile>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Catalog, ProviderError> {
        let offline = ProviderSlot {
            name: OFFLINE_PROVIDER.into(),
            provider: Arc::new(OfflineModel {
                token_delay: config.offline_token_delay,
                fail_after: config.offline_fail_after,
                min_tokens: config.offline_min_tokens,
            }),
            models: vec![ConfiguredModel {
                id: OFFLINE_MODEL.into(),
                label: "Arbor offline model".into(),
                defaults: SamplerParams::default(),
            }],
            discover: false,
        };
        let mut providers = Vec::new();
        if let Some(file) = file {
            for entry in &file.providers {
                providers.push(file_provider(entry, config, &env)?);
            }
        }
        if let Some(slot) = environment_provider(config)? {
            if providers.iter().any(|p| p.name == slot.name) {
                return Err(ProviderError::new(
                    ProviderErrorKind::Config,
                    format!(
                        "the config file already declares a provider named `{}`; \
                     remove the environment variables or rename it",
                        slot.name
                    ),
                ));
            }
            providers.push(slot);
        }
        if let Some(slot) = local_provider(config, file)? {
            if providers.iter().any(|p| p.name == slot.name) {
                return Err(ProviderError::new(
                    ProviderErrorKind::Config,
                    format!(
                        "the provider name `{LOCAL_PROVIDER}` is the in-process model's; \
                         rename the config file's provider"
                    ),
                ));
            }
            providers.push(slot);
        }
        // The config's choice, else the first configured model, else the
        // in-process model (pushed last), else the offline one.
        let default_model = file
            .and_then(|f| f.default_model.as_ref().map(|m| m.get_ref().clone()))
            .or_else(|| {
                providers
                    .iter()
                    .find_map(|p| Some(format!("{}/{}", p.name, p.models.first()?.id)))
            })
            .unwrap_or_else(|| format!("{OFFLINE_PROVIDER}/{OFFLINE_MODEL}"));
        let personas = file
            .map(|f| {
                f.personas
                    .iter()
                    .map(|p| PersonaOption {
                        name: p.name.get_ref().clone(),
                        system_prompt: p.system_prompt.clone(),
                        model: p.model.as_ref().map(|m| m.get_ref().clone()),
                        params: crate::config::file::params_of(&p.params),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let catalog = Catalog {
            providers,
            offline,
            personas,
            default_model,
            discovered: Mutex::new(HashMap::new()),
        };
        if catalog.slot_of(&catalog.default_model).is_none() {
            return Err(ProviderError::new(
                ProviderErrorKind::Config,
                format!(
                    "the default model `{}` names no configured provider",
                    catalog.default_model
                ),
            ));
        }
        Ok(catalog)
    }

    /// Every provider, the offline model last.
    fn slots(&self) -> impl Iterator<Item = &ProviderSlot> {
        self.providers.iter().chain(std::iter::once(&self.offline))
    }

    /// The models and personas to offer: configured models first, then the
    /// ones a reachable OpenAI-compatible server lists.
    pub async fn choices(&self) -> ModelChoices {
        let mut models = Vec::new();
        for slot in self.slots() {
            for model in &slot.models {
                models.push(ModelOption {
                    key: format!("{}/{}", slot.name, model.id),
                    label: model.label.clone(),
                    offline: slot.provider.is_offline(),
                    runs_here: slot.provider.runs_here(),
                    defaults: model.defaults.clone(),
                });
            }
            for id in self.listed_models(slot).await {
                if slot.models.iter().all(|m| m.id != id) {
                    models.push(ModelOption {
                        key: format!("{}/{id}", slot.name),
                        label: id,
                        offline: false,
                        runs_here: false,
                        defaults: SamplerParams::default(),
                    });
                }
            }
        }
        ModelChoices {
            models,
            personas: self.personas.clone(),
            default_model: self.default_model.clone(),
        }
    }

    /// The provider's own list (cached), empty when it does not discover or
    /// cannot be reached.
    async fn listed_models(&self, slot: &ProviderSlot) -> Vec<String> {
        if !slot.discover {
            return Vec::new();
        }
        if let Ok(cache) = self.discovered.lock() {
            if let Some((at, ids)) = cache.get(&slot.name) {
                if at.elapsed() < DISCOVERY_TTL {
                    return ids.clone();
                }
            }
        }
        let ids = match slot.provider.list_models().await {
            Ok(ids) => ids,
            Err(error) => {
                tracing::warn!(provider = %slot.name, %error, "cannot list the provider's models; using the configured ones");
                Vec::new()
            }
        };
        if let Ok(mut cache) = self.discovered.lock() {
            cache.insert(slot.name.clone(), (Instant::now(), ids.clone()));
        }
        ids
    }

    /// The key of the built-in offline model, always offered.
    pub fn offline_key(&self) -> String {
        format!("{OFFLINE_PROVIDER}/{OFFLINE_MODEL}")
    }

    /// A persona by name.
    pub fn persona(&self, name: &str) -> Option<&PersonaOption> {
        self.personas.iter().find(|p| p.name == name)
    }

    /// The model a conversation's new replies come from: its own choice,
    /// else its persona's, else the default; a key whose provider is gone
    /// from the config falls back to the default.
    pub fn effective_model(&self, settings: &ConversationSettings) -> EffectiveModel {
        let persona_model = settings
            .persona
            .as_deref()
            .and_then(|name| self.persona(name))
            .and_then(|p| p.model.clone());
        let key = settings
            .model
            .clone()
            .or(persona_model)
            .filter(|key| self.slot_of(key).is_some())
            .unwrap_or_else(|| self.default_model.clone());
        let provider = self.slot_of(&key).map(|(slot, _)| &slot.provider);
        EffectiveModel {
            offline: provider.is_some_and(|p| p.is_offline()),
            runs_here: provider.is_some_and(|p| p.runs_here()),
            key,
        }
    }

    /// The provider slot of a `provider/model` key, and the model id.
    fn slot_of<'a>(&self, key: &'a str) -> Option<(&ProviderSlot, &'a str)> {
        let (provider, model) = key.split_once('/')?;
        let slot = self.slots().find(|s| s.name == provider)?;
        (!model.is_empty()).then_some((slot, model))
    }

    /// Whether `key` is one of the models offered now.
    pub async fn offers(&self, key: &str) -> bool {
        self.choices().await.models.iter().any(|m| m.key == key)
    }

    /// Decides how the next reply of a conversation is generated. Each
    /// sampler field comes from the conversation's settings, else the
    /// persona, else the model's defaults, else is left out; the provider
    /// then drops what it does not support.
    pub fn plan(&self, settings: &ConversationSettings) -> ReplyPlan {
        let EffectiveModel { key, .. } = self.effective_model(settings);
        // The effective key always resolves (the default is checked at
        // start-up); the offline model is the last resort all the same.
        let (slot, model_id) = self.slot_of(&key).unwrap_or((&self.offline, OFFLINE_MODEL));
        let persona = settings.persona.as_deref().and_then(|n| self.persona(n));
        let model_defaults = slot
            .models
            .iter()
            .find(|m| m.id == model_id)
            .map(|m| m.defaults.clone())
            .unwrap_or_default();
        let persona_params = persona.map(|p| p.params.clone()).unwrap_or_default();
        let params = settings
            .params
            .clone()
            .over(&persona_params.over(&model_defaults))
            .retain(slot.provider.supported_params());
        ReplyPlan {
            provider: slot.provider.clone(),
            key: format!("{}/{model_id}", slot.name),
            model_id: model_id.to_string(),
            params,
            persona_prompt: persona.map(|p| p.system_prompt.clone()).unwrap_or_default(),
        }
    }
}

/// A provider declared in the config file.
fn file_provider(
    entry: &crate::config::file::ProviderEntry,
    config: &Config,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ProviderSlot, ProviderError> {
    let name = entry.name.get_ref().clone();
    let api_key = entry
        .api_key_env
        .as_deref()
        .and_then(|var| env(var).filter(|v| !v.trim().is_empty()))
        .or_else(|| entry.api_key.clone())
        .unwrap_or_default();
    let base_url = entry
        .base_url
        .as_ref()
        .map(|u| u.get_ref().trim_end_matches('/').to_string());
    let provider: Arc<dyn Provider> = match entry.kind {
        ProviderKind::Openai => {
            let extensions: Vec<SamplerField> = entry
                .extra_sampler_fields
                .iter()
                .filter_map(|f| SamplerField::from_name(f.get_ref()))
                .collect();
            Arc::new(OpenAiCompatible::new(
                base_url.as_deref().unwrap_or(OPENAI_DEFAULT_BASE_URL),
                &api_key,
                &extensions,
                config.connect_timeout,
            )?)
        }
        ProviderKind::Anthropic => Arc::new(Anthropic::new(
            AnthropicSettings {
                base_url: base_url.unwrap_or_else(|| ANTHROPIC_DEFAULT_BASE_URL.into()),
                api_key: Secret(api_key),
                max_tokens: entry.default_max_tokens.unwrap_or(4096),
                betas: entry.betas.clone(),
            },
            config.connect_timeout,
        )?),
    };
    Ok(ProviderSlot {
        name,
        provider,
        models: entry
            .models
            .iter()
            .map(|m| ConfiguredModel {
                id: m.id.get_ref().clone(),
                label: m.label.clone().unwrap_or_else(|| m.id.get_ref().clone()),
                defaults: crate::config::file::params_of(&m.params),
            })
            .collect(),
        discover: entry.discover_models && entry.kind == ProviderKind::Openai,
    })
}

/// The in-process model's sampler values unless the user sets others:
/// a small model keeps closer to the likeliest words, with a penalty
/// against going round in circles, and a length limit.
fn local_defaults() -> SamplerParams {
    SamplerParams {
        temperature: Some(0.3),
        top_p: Some(0.9),
        top_k: Some(40),
        repetition_penalty: Some(1.1),
        max_tokens: Some(1024),
        ..SamplerParams::default()
    }
}

/// The in-process model, when a GGUF file is named or was fetched. A file
/// that is there but does not load stops the start-up with its name.
fn local_provider(
    config: &Config,
    file: Option<&ConfigFile>,
) -> Result<Option<ProviderSlot>, ProviderError> {
    let named = file.and_then(|f| f.local_model.as_deref());
    let Some(settings) = config.local_model.to_load(named) else {
        return Ok(None);
    };
    let model = LocalModel::load(&settings)?;
    let id = model.id().to_string();
    Ok(Some(ProviderSlot {
        name: LOCAL_PROVIDER.into(),
        models: vec![ConfiguredModel {
            label: format!("{id} (on this machine)"),
            id,
            defaults: local_defaults(),
        }],
        provider: Arc::new(model),
        discover: false,
    }))
}

/// The provider the `OPENAI_*` / `ANTHROPIC_*` variables describe, if any;
/// named `openai` or `anthropic`.
fn environment_provider(config: &Config) -> Result<Option<ProviderSlot>, ProviderError> {
    let model = |id: &str| ConfiguredModel {
        id: id.to_string(),
        label: id.to_string(),
        defaults: SamplerParams::default(),
    };
    Ok(match &config.model_source {
        ModelSource::Offline => None,
        ModelSource::OpenAiCompatible {
            base_url,
            api_key,
            model: id,
        } => Some(ProviderSlot {
            name: "openai".into(),
            provider: Arc::new(OpenAiCompatible::new(
                base_url,
                &api_key.0,
                &[],
                config.connect_timeout,
            )?),
            models: vec![model(id)],
            discover: true,
        }),
        ModelSource::Anthropic {
            settings,
            model: id,
        } => Some(ProviderSlot {
            name: "anthropic".into(),
            provider: Arc::new(Anthropic::new(settings.clone(), config.connect_timeout)?),
            models: vec![model(id)],
            discover: false,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FILE: &str = r#"
default_model = "local/small"

[[providers]]
name = "local"
kind = "openai"
base_url = "http://127.0.0.1:1/v1"
discover_models = false
extra_sampler_fields = ["top_k"]

[[providers.models]]
id = "small"
params = { temperature = 0.5, top_k = 20, max_tokens = 100 }

[[providers.models]]
id = "big"

[[providers]]
name = "claude"
kind = "anthropic"
base_url = "http://127.0.0.1:1"
api_key_env = "TEST_CLAUDE_KEY"

[[providers.models]]
id = "claude-x"
params = { min_p = 0.1, temperature = 0.3 }

[[personas]]
name = "Poet"
system_prompt = "Answer in verse."
model = "claude/claude-x"
params = { temperature = 1.0, top_k = 5 }
"#;

    fn catalog() -> Catalog {
        let file = ConfigFile::parse(FILE, Path::new("test.toml")).expect("valid file");
        let config = Config::from_lookup(|_| None).expect("defaults");
        Catalog::build(&config, Some(&file), |_| None).expect("builds")
    }

    fn settings(
        model: Option<&str>,
        persona: Option<&str>,
        params: SamplerParams,
    ) -> ConversationSettings {
        ConversationSettings {
            model: model.map(str::to_string),
            persona: persona.map(str::to_string),
            params,
            tools: true,
        }
    }

    #[test]
    fn the_default_model_and_its_defaults_apply_when_nothing_is_chosen() {
        let plan = catalog().plan(&ConversationSettings::default());
        assert_eq!(plan.key, "local/small");
        assert_eq!(plan.model_id, "small");
        assert_eq!(plan.params.temperature, Some(0.5));
        assert_eq!(plan.params.top_k, Some(20));
    }

    #[test]
    fn the_request_beats_the_persona_which_beats_the_model() {
        let request = SamplerParams {
            temperature: Some(0.1),
            ..Default::default()
        };
        let plan = catalog().plan(&settings(None, Some("Poet"), request));
        assert_eq!(plan.key, "claude/claude-x", "the persona's model");
        assert_eq!(plan.params.temperature, Some(0.1), "request wins");
        assert_eq!(plan.params.top_k, Some(5), "persona beats nothing");
        assert_eq!(plan.params.min_p, None, "Anthropic drops min_p");
        assert_eq!(plan.persona_prompt, "Answer in verse.");
        let plan = catalog().plan(&settings(
            Some("local/small"),
            Some("Poet"),
            SamplerParams::default(),
        ));
        assert_eq!(
            plan.key, "local/small",
            "the conversation's model beats the persona's"
        );
        assert_eq!(
            plan.params.temperature,
            Some(1.0),
            "persona beats model default"
        );
        assert_eq!(
            plan.params.max_tokens,
            Some(100),
            "model default fills the rest"
        );
    }

    #[test]
    fn unknown_or_removed_choices_fall_back_to_the_default() {
        let catalog = catalog();
        let plan = catalog.plan(&settings(
            Some("gone/model"),
            Some("Nobody"),
            SamplerParams::default(),
        ));
        assert_eq!(plan.key, "local/small");
        assert_eq!(plan.persona_prompt, "");
        let offline = catalog.effective_model(&settings(
            Some("offline/arbor-offline"),
            None,
            SamplerParams::default(),
        ));
        assert!(offline.offline);
    }

    #[tokio::test]
    async fn choices_list_configured_models_and_the_offline_model() {
        let choices = catalog().choices().await;
        let keys: Vec<&str> = choices.models.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "local/small",
                "local/big",
                "claude/claude-x",
                "offline/arbor-offline"
            ]
        );
        assert_eq!(choices.default_model, "local/small");
        assert_eq!(choices.personas.len(), 1);
    }

    #[test]
    fn without_any_configuration_the_offline_model_is_the_default() {
        let config = Config::from_lookup(|_| None).expect("defaults");
        let catalog = Catalog::build(&config, None, |_| None).expect("builds");
        let model = catalog.effective_model(&ConversationSettings::default());
        assert_eq!(model.key, "offline/arbor-offline");
        assert!(model.offline);
    }
}
