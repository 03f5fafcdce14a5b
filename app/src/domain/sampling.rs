//! Sampler parameters: the knobs a reply is generated with, how the layers
//! that may set them combine, and how a provider keeps only the ones it
//! supports. Pure logic, shared by the server and the browser.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every sampler field Arbor knows. A field left `None` is not sent, so the
/// provider's own default applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplerParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f32>,
    /// Stop sequences; an empty list counts as unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// The name of one sampler field, as written in config files and the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SamplerField {
    Temperature,
    TopP,
    TopK,
    MinP,
    MaxTokens,
    FrequencyPenalty,
    PresencePenalty,
    RepetitionPenalty,
    Stop,
    Seed,
}

impl SamplerField {
    /// Every field, in the order the UI lists them.
    pub const ALL: [SamplerField; 10] = [
        SamplerField::Temperature,
        SamplerField::TopP,
        SamplerField::TopK,
        SamplerField::MinP,
        SamplerField::MaxTokens,
        SamplerField::FrequencyPenalty,
        SamplerField::PresencePenalty,
        SamplerField::RepetitionPenalty,
        SamplerField::Stop,
        SamplerField::Seed,
    ];

    /// The field's name in config files, JSON and the UI.
    pub fn name(self) -> &'static str {
        match self {
            SamplerField::Temperature => "temperature",
            SamplerField::TopP => "top_p",
            SamplerField::TopK => "top_k",
            SamplerField::MinP => "min_p",
            SamplerField::MaxTokens => "max_tokens",
            SamplerField::FrequencyPenalty => "frequency_penalty",
            SamplerField::PresencePenalty => "presence_penalty",
            SamplerField::RepetitionPenalty => "repetition_penalty",
            SamplerField::Stop => "stop",
            SamplerField::Seed => "seed",
        }
    }

    /// The field named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<SamplerField> {
        SamplerField::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Why a sampler value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidSampler {
    pub field: &'static str,
    pub reason: String,
}

impl SamplerParams {
    /// Each field from `self` when set, else from `lower`: used to stack
    /// request > persona > model default.
    pub fn over(self, lower: &SamplerParams) -> SamplerParams {
        SamplerParams {
            temperature: self.temperature.or(lower.temperature),
            top_p: self.top_p.or(lower.top_p),
            top_k: self.top_k.or(lower.top_k),
            min_p: self.min_p.or(lower.min_p),
            max_tokens: self.max_tokens.or(lower.max_tokens),
            frequency_penalty: self.frequency_penalty.or(lower.frequency_penalty),
            presence_penalty: self.presence_penalty.or(lower.presence_penalty),
            repetition_penalty: self.repetition_penalty.or(lower.repetition_penalty),
            stop: self.stop.filter(|s| !s.is_empty()).or(lower.stop.clone()),
            seed: self.seed.or(lower.seed),
        }
    }

    /// The fields in `supported` only; the rest become `None` (not sent).
    pub fn retain(&self, supported: &[SamplerField]) -> SamplerParams {
        let keep = |field| supported.contains(&field);
        SamplerParams {
            temperature: self.temperature.filter(|_| keep(SamplerField::Temperature)),
            top_p: self.top_p.filter(|_| keep(SamplerField::TopP)),
            top_k: self.top_k.filter(|_| keep(SamplerField::TopK)),
            min_p: self.min_p.filter(|_| keep(SamplerField::MinP)),
            max_tokens: self.max_tokens.filter(|_| keep(SamplerField::MaxTokens)),
            frequency_penalty: self
                .frequency_penalty
                .filter(|_| keep(SamplerField::FrequencyPenalty)),
            presence_penalty: self
                .presence_penalty
                .filter(|_| keep(SamplerField::PresencePenalty)),
            repetition_penalty: self
                .repetition_penalty
                .filter(|_| keep(SamplerField::RepetitionPenalty)),
            stop: self
                .stop
                .clone()
                .filter(|s| !s.is_empty() && keep(SamplerField::Stop)),
            seed: self.seed.filter(|_| keep(SamplerField::Seed)),
        }
    }

    /// One field's value as text (empty when unset); stop sequences are
    /// joined by `, `.
    pub fn field_text(&self, field: SamplerField) -> String {
        let float = |v: Option<f32>| v.map(|v| format!("{v}"));
        let text = match field {
            SamplerField::Temperature => float(self.temperature),
            SamplerField::TopP => float(self.top_p),
            SamplerField::TopK => self.top_k.map(|v| v.to_string()),
            SamplerField::MinP => float(self.min_p),
            SamplerField::MaxTokens => self.max_tokens.map(|v| v.to_string()),
            SamplerField::FrequencyPenalty => float(self.frequency_penalty),
            SamplerField::PresencePenalty => float(self.presence_penalty),
            SamplerField::RepetitionPenalty => float(self.repetition_penalty),
            SamplerField::Stop => self.stop.as_ref().map(|s| s.join(", ")),
            SamplerField::Seed => self.seed.map(|v| v.to_string()),
        };
        text.unwrap_or_default()
    }

    /// Sets one field from text as typed in a form: blank unsets it; stop
    /// sequences are separated by commas.
    pub fn set_field(&mut self, field: SamplerField, text: &str) -> Result<(), InvalidSampler> {
        let text = text.trim();
        let bad = |kind: &str| InvalidSampler {
            field: field.name(),
            reason: format!("`{text}` is not {kind}"),
        };
        fn parse<T: std::str::FromStr>(text: &str) -> Option<Option<T>> {
            if text.is_empty() {
                Some(None)
            } else {
                text.parse().ok().map(Some)
            }
        }
        let float = || parse::<f32>(text).ok_or_else(|| bad("a number"));
        let whole = || parse::<u32>(text).ok_or_else(|| bad("a whole number"));
        match field {
            SamplerField::Temperature => self.temperature = float()?,
            SamplerField::TopP => self.top_p = float()?,
            SamplerField::TopK => self.top_k = whole()?,
            SamplerField::MinP => self.min_p = float()?,
            SamplerField::MaxTokens => self.max_tokens = whole()?,
            SamplerField::FrequencyPenalty => self.frequency_penalty = float()?,
            SamplerField::PresencePenalty => self.presence_penalty = float()?,
            SamplerField::RepetitionPenalty => self.repetition_penalty = float()?,
            SamplerField::Stop => {
                let sequences: Vec<String> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                self.stop = (!sequences.is_empty()).then_some(sequences);
            }
            SamplerField::Seed => {
                self.seed = parse::<u64>(text).ok_or_else(|| bad("a whole number"))?
            }
        }
        Ok(())
    }

    /// The fields that are set, each with its value as text, in [`SamplerField::ALL`] order.
    pub fn entries(&self) -> Vec<(SamplerField, String)> {
        SamplerField::ALL
            .into_iter()
            .map(|field| (field, self.field_text(field)))
            .filter(|(_, text)| !text.is_empty())
            .collect()
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// Checks each set value against the range providers accept.
    pub fn validate(&self) -> Result<(), InvalidSampler> {
        let range = |field: SamplerField, value: Option<f32>, low: f32, high: f32| match value {
            Some(v) if !(low..=high).contains(&v) => Err(InvalidSampler {
                field: field.name(),
                reason: format!("must be between {low} and {high}, not {v}"),
            }),
            _ => Ok(()),
        };
        range(SamplerField::Temperature, self.temperature, 0.0, 2.0)?;
        range(SamplerField::TopP, self.top_p, 0.0, 1.0)?;
        range(SamplerField::MinP, self.min_p, 0.0, 1.0)?;
        range(
            SamplerField::FrequencyPenalty,
            self.frequency_penalty,
            -2.0,
            2.0,
        )?;
        range(
            SamplerField::PresencePenalty,
            self.presence_penalty,
            -2.0,
            2.0,
        )?;
        range(
            SamplerField::RepetitionPenalty,
            self.repetition_penalty,
            0.0,
            10.0,
        )?;
        if self.max_tokens == Some(0) {
            return Err(InvalidSampler {
                field: "max_tokens",
                reason: "must be at least 1".into(),
            });
        }
        if let Some(stop) = &self.stop {
            if stop.len() > MAX_STOP_SEQUENCES || stop.iter().any(|s| s.is_empty()) {
                return Err(InvalidSampler {
                    field: "stop",
                    reason: format!("at most {MAX_STOP_SEQUENCES} sequences, none empty"),
                });
            }
        }
        Ok(())
    }
}

/// Most stop sequences accepted (OpenAI's limit is 4; others allow more).
pub const MAX_STOP_SEQUENCES: usize = 8;

impl fmt::Display for SamplerParams {
    /// `temperature 0.7 · seed 42`, or `provider defaults` when nothing is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries();
        if entries.is_empty() {
            return f.write_str("provider defaults");
        }
        let parts: Vec<String> = entries
            .into_iter()
            .map(|(field, value)| format!("{} {value}", field.name()))
            .collect();
        f.write_str(&parts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: Option<f32>, top_k: Option<u32>, seed: Option<u64>) -> SamplerParams {
        SamplerParams {
            temperature,
            top_k,
            seed,
            ..Default::default()
        }
    }

    #[test]
    fn each_field_comes_from_the_highest_layer_that_sets_it() {
        let request = params(Some(0.2), None, None);
        let persona = params(Some(0.9), Some(40), None);
        let model = params(Some(1.0), Some(20), Some(7));
        let effective = request.over(&persona.over(&model));
        assert_eq!(effective, params(Some(0.2), Some(40), Some(7)));
        let nothing = SamplerParams::default().over(&SamplerParams::default());
        assert!(nothing.is_empty(), "an unset field stays omitted");
    }

    #[test]
    fn an_empty_stop_list_does_not_hide_a_lower_one() {
        let request = SamplerParams {
            stop: Some(vec![]),
            ..Default::default()
        };
        let model = SamplerParams {
            stop: Some(vec!["END".into()]),
            ..Default::default()
        };
        assert_eq!(request.over(&model).stop, Some(vec!["END".into()]));
    }

    #[test]
    fn retain_drops_the_fields_a_provider_does_not_support() {
        let all = params(Some(0.5), Some(40), Some(3));
        let kept = all.retain(&[SamplerField::Temperature, SamplerField::Seed]);
        assert_eq!(kept, params(Some(0.5), None, Some(3)));
    }

    #[test]
    fn field_names_round_trip_and_match_the_json_keys() {
        for field in SamplerField::ALL {
            assert_eq!(SamplerField::from_name(field.name()), Some(field));
        }
        let json = serde_json::to_value(params(Some(0.5), Some(4), None)).expect("serializes");
        assert_eq!(json, serde_json::json!({ "temperature": 0.5, "top_k": 4 }));
    }

    #[test]
    fn the_summary_lists_set_fields_or_says_defaults() {
        assert_eq!(SamplerParams::default().to_string(), "provider defaults");
        assert_eq!(
            params(Some(0.7), None, Some(42)).to_string(),
            "temperature 0.7 · seed 42"
        );
    }

    #[test]
    fn form_text_sets_and_clears_fields() {
        let mut params = SamplerParams::default();
        params
            .set_field(SamplerField::Temperature, " 0.4 ")
            .expect("number");
        params
            .set_field(SamplerField::Stop, "END, ###,")
            .expect("list");
        params.set_field(SamplerField::Seed, "9").expect("whole");
        assert_eq!(params.temperature, Some(0.4));
        assert_eq!(params.field_text(SamplerField::Stop), "END, ###");
        params
            .set_field(SamplerField::Temperature, "")
            .expect("blank");
        assert_eq!(params.temperature, None);
        let error = params
            .set_field(SamplerField::TopK, "many")
            .expect_err("not a number");
        assert_eq!(error.field, "top_k");
        assert!(params.set_field(SamplerField::Seed, "-1").is_err());
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_field() {
        assert_eq!(
            params(Some(3.0), None, None)
                .validate()
                .expect_err("too hot")
                .field,
            "temperature"
        );
        let zero = SamplerParams {
            max_tokens: Some(0),
            ..Default::default()
        };
        assert_eq!(zero.validate().expect_err("zero").field, "max_tokens");
        assert!(params(Some(1.0), Some(50), Some(1)).validate().is_ok());
    }
}
