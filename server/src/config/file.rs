//! The optional TOML config file (`ARBOR_CONFIG` or `--config`): providers,
//! their models with default sampler parameters, and personas. Parsing
//! checks everything a typo could break and names the file, line and field
//! of the first problem. See `arbor.example.toml` for every setting.

use app::domain::sampling::{SamplerField, SamplerParams};
use serde::Deserialize;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `provider/model` of new conversations; default: the first listed model.
    pub default_model: Option<Spanned<String>>,
    #[serde(default)]
    pub providers: Vec<ProviderEntry>,
    #[serde(default)]
    pub personas: Vec<PersonaEntry>,
    /// A GGUF file for the in-process model (`ARBOR_LOCAL_MODEL` wins).
    pub local_model: Option<String>,
}

/// What protocol a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible server.
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
}

/// One `[[providers]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    /// Unique; the first half of model keys (`name/model`).
    pub name: Spanned<String>,
    pub kind: ProviderKind,
    /// Default: OpenAI's or Anthropic's public API.
    pub base_url: Option<Spanned<String>>,
    /// The key itself (prefer `api_key_env`; the environment wins).
    pub api_key: Option<String>,
    /// The environment variable holding the key.
    pub api_key_env: Option<String>,
    /// Ask the endpoint for its models (`GET /models`); OpenAI-compatible only.
    #[serde(default = "yes")]
    pub discover_models: bool,
    /// Sampler fields beyond OpenAI's that this server accepts
    /// (`top_k`, `min_p`, `repetition_penalty`).
    #[serde(default)]
    pub extra_sampler_fields: Vec<Spanned<String>>,
    /// Anthropic beta features, sent as the `anthropic-beta` header.
    #[serde(default)]
    pub betas: Vec<String>,
    /// Anthropic only: the reply length used when none is set (default 4096).
    pub default_max_tokens: Option<u32>,
    #[serde(default)]
    pub models: Vec<ModelEntry>,
}

fn yes() -> bool {
    true
}

/// One `[[providers.models]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The id the provider knows the model by.
    pub id: Spanned<String>,
    /// Shown in the model picker (default: the id).
    pub label: Option<String>,
    /// Default sampler values for this model.
    pub params: Option<Spanned<SamplerParams>>,
}

/// One `[[personas]]` table: a character card.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaEntry {
    pub name: Spanned<String>,
    #[serde(default)]
    pub system_prompt: String,
    /// `provider/model` this persona talks through (default: the conversation's).
    pub model: Option<Spanned<String>>,
    pub params: Option<Spanned<SamplerParams>>,
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {field}: {reason}", path.display())]
pub struct ConfigFileError {
    pub path: PathBuf,
    /// 1-based; 0 when the file could not be read at all.
    pub line: usize,
    /// The key at fault (`-` when the problem is not one key).
    pub field: String,
    pub reason: String,
}

impl ConfigFile {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigFileError {
            path: path.to_path_buf(),
            line: 0,
            field: "-".into(),
            reason: format!("cannot read the config file: {e}"),
        })?;
        ConfigFile::parse(&text, path)
    }

    /// Parses and checks `text`; errors name `path`.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigFileError> {
        let fail = |span: Option<Range<usize>>, field: Option<&str>, reason: String| {
            let start = span.as_ref().map_or(0, |s| s.start).min(text.len());
            let line = text[..start].matches('\n').count() + 1;
            let line_text = text.lines().nth(line - 1).unwrap_or_default();
            let field = field
                .map(str::to_string)
                .or_else(|| key_of(line_text))
                .unwrap_or_else(|| "-".into());
            ConfigFileError {
                path: path.to_path_buf(),
                line,
                field,
                reason,
            }
        };
        let file: ConfigFile = toml::from_str(text)
            .map_err(|e| fail(e.span(), None, e.message().trim().to_string()))?;
        file.check()
            .map_err(|(span, field, reason)| fail(Some(span), Some(field), reason))?;
        Ok(file)
    }

    /// The checks serde cannot make: unique names, known references, valid
    /// URLs and value ranges.
    fn check(&self) -> Result<(), (Range<usize>, &'static str, String)> {
        let mut names: Vec<&str> = Vec::new();
        for provider in &self.providers {
            let name = provider.name.get_ref();
            if name.is_empty() || name.contains('/') || name.contains(char::is_whitespace) {
                return Err((
                    provider.name.span(),
                    "name",
                    "a provider name must be one word without `/`".into(),
                ));
            }
            if name == crate::providers::OFFLINE_PROVIDER || names.contains(&name.as_str()) {
                return Err((
                    provider.name.span(),
                    "name",
                    format!("the provider name `{name}` is already taken"),
                ));
            }
            names.push(name);
            if let Some(url) = &provider.base_url {
                if !(url.get_ref().starts_with("http://") || url.get_ref().starts_with("https://"))
                {
                    return Err((
                        url.span(),
                        "base_url",
                        "must start with http:// or https://".into(),
                    ));
                }
            }
            for extra in &provider.extra_sampler_fields {
                let known = SamplerField::from_name(extra.get_ref())
                    .filter(|f| crate::providers::EXTENSION_PARAMS.contains(f));
                if known.is_none() || provider.kind != ProviderKind::Openai {
                    return Err((
                        extra.span(),
                        "extra_sampler_fields",
                        "only OpenAI-compatible providers take extra fields, and only top_k, min_p and repetition_penalty".into(),
                    ));
                }
            }
            for model in &provider.models {
                if model.id.get_ref().trim().is_empty() {
                    return Err((model.id.span(), "id", "a model id cannot be empty".into()));
                }
                check_params(model.params.as_ref())?;
            }
        }
        let mut personas: Vec<&str> = Vec::new();
        for persona in &self.personas {
            let name = persona.name.get_ref();
            if name.trim().is_empty() || personas.contains(&name.as_str()) {
                return Err((
                    persona.name.span(),
                    "name",
                    format!("persona names must be unique and not empty (`{name}`)"),
                ));
            }
            personas.push(name);
            if persona.system_prompt.chars().count() > app::domain::model::MAX_SYSTEM_PROMPT_CHARS {
                return Err((
                    persona.name.span(),
                    "system_prompt",
                    format!(
                        "longer than {} characters",
                        app::domain::model::MAX_SYSTEM_PROMPT_CHARS
                    ),
                ));
            }
            if let Some(model) = &persona.model {
                self.check_model_key(model, "model")?;
            }
            check_params(persona.params.as_ref())?;
        }
        if let Some(model) = &self.default_model {
            self.check_model_key(model, "default_model")?;
        }
        Ok(())
    }

    /// A `provider/model` key must name a declared provider (or `offline`).
    fn check_model_key(
        &self,
        key: &Spanned<String>,
        field: &'static str,
    ) -> Result<(), (Range<usize>, &'static str, String)> {
        let provider = key.get_ref().split_once('/').map(|(p, _)| p);
        let known = provider.is_some_and(|p| {
            p == crate::providers::OFFLINE_PROVIDER
                || self.providers.iter().any(|d| d.name.get_ref() == p)
        });
        if known {
            Ok(())
        } else {
            Err((
                key.span(),
                field,
                format!(
                    "`{}` is not `provider/model` with a provider declared in this file",
                    key.get_ref()
                ),
            ))
        }
    }
}

fn check_params(
    params: Option<&Spanned<SamplerParams>>,
) -> Result<(), (Range<usize>, &'static str, String)> {
    let Some(params) = params else { return Ok(()) };
    params
        .get_ref()
        .validate()
        .map_err(|e| (params.span(), e.field, e.reason))
}

/// The sampler values of an optional `params` table (none: all unset).
pub fn params_of(params: &Option<Spanned<SamplerParams>>) -> SamplerParams {
    params
        .as_ref()
        .map(|p| p.get_ref().clone())
        .unwrap_or_default()
}

/// The key a TOML line sets (`temperature = 3` gives `temperature`).
fn key_of(line: &str) -> Option<String> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigFileError> {
        ConfigFile::parse(text, Path::new("arbor.toml"))
    }

    #[test]
    fn the_checked_in_example_is_valid() {
        let example = include_str!("../../../docs/arbor.example.toml");
        let file = parse(example).expect("the example parses");
        assert!(!file.providers.is_empty());
        assert!(!file.personas.is_empty());
    }

    #[test]
    fn a_full_file_is_read() {
        let file = parse(
            r#"
default_model = "local/llama3.2"

[[providers]]
name = "local"
kind = "openai"
base_url = "http://localhost:11434/v1"
extra_sampler_fields = ["top_k"]

[[providers.models]]
id = "llama3.2"
params = { temperature = 0.7, top_k = 40 }

[[personas]]
name = "Pirate"
system_prompt = "Talk like a pirate."
params = { temperature = 1.2 }
"#,
        )
        .expect("valid");
        assert_eq!(file.providers[0].kind, ProviderKind::Openai);
        assert_eq!(
            params_of(&file.providers[0].models[0].params).top_k,
            Some(40)
        );
        assert_eq!(params_of(&file.personas[0].params).temperature, Some(1.2));
    }

    #[test]
    fn a_misspelt_field_names_the_file_line_and_field() {
        let error = parse("[[providers]]\nname = \"x\"\nkind = \"openai\"\ntemprature = 1\n")
            .expect_err("unknown field");
        assert_eq!(error.line, 4);
        assert_eq!(error.field, "temprature");
        assert!(error.to_string().starts_with("arbor.toml:4: temprature: "));
    }

    #[test]
    fn a_wrong_type_or_kind_names_its_line() {
        let error = parse("[[providers]]\nname = \"x\"\nkind = \"gopher\"\n").expect_err("kind");
        assert_eq!((error.line, error.field.as_str()), (3, "kind"));
        let error = parse(
            "[[providers]]\nname = \"x\"\nkind = \"openai\"\n[[providers.models]]\nid = \"m\"\nparams = { temperature = \"hot\" }\n",
        )
        .expect_err("type");
        assert_eq!(error.line, 6);
    }

    #[test]
    fn references_urls_and_ranges_are_checked() {
        let error = parse("default_model = \"nowhere/m\"\n").expect_err("unknown provider");
        assert_eq!((error.line, error.field.as_str()), (1, "default_model"));
        let error =
            parse("[[providers]]\nname = \"x\"\nkind = \"openai\"\nbase_url = \"localhost\"\n")
                .expect_err("no scheme");
        assert_eq!((error.line, error.field.as_str()), (4, "base_url"));
        let error = parse("[[personas]]\nname = \"p\"\nparams = { temperature = 9.0 }\n")
            .expect_err("range");
        assert_eq!((error.line, error.field.as_str()), (3, "temperature"));
        let error = parse("[[providers]]\nname = \"a\"\nkind = \"openai\"\n[[providers]]\nname = \"a\"\nkind = \"anthropic\"\n")
            .expect_err("duplicate");
        assert_eq!((error.line, error.field.as_str()), (5, "name"));
    }
}
