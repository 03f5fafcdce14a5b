//! How the in-process model picks each token: the sampler fields of a
//! request, in llama.cpp's order (penalties, top-k, top-p, min-p,
//! temperature, then a seeded draw; temperature 0 takes the likeliest).

use app::domain::sampling::SamplerParams;
use llama_cpp_2::sampling::LlamaSampler;

/// How many recent tokens the repetition penalties look at.
const PENALTY_WINDOW: i32 = 64;
/// The temperature when none is set (llama.cpp's default).
const DEFAULT_TEMPERATURE: f32 = 0.8;
/// llama.cpp's "pick a random seed".
const RANDOM_SEED: u32 = u32::MAX;

/// The sampler fields the in-process model honours, as plain values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sampling {
    pub temperature: Option<f32>,
    pub top_k: Option<u32>,
    pub top_p: Option<f32>,
    pub min_p: Option<f32>,
    pub repetition_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub seed: Option<u64>,
}

impl Sampling {
    pub fn of(params: &SamplerParams) -> Sampling {
        Sampling {
            temperature: params.temperature,
            top_k: params.top_k,
            top_p: params.top_p,
            min_p: params.min_p,
            repetition_penalty: params.repetition_penalty,
            frequency_penalty: params.frequency_penalty,
            presence_penalty: params.presence_penalty,
            seed: params.seed,
        }
    }

    /// The llama.cpp sampler chain for a vocabulary of `n_vocab` tokens.
    pub fn sampler(&self, n_vocab: i32) -> LlamaSampler {
        let mut chain = Vec::new();
        if self.repetition_penalty.is_some()
            || self.frequency_penalty.is_some()
            || self.presence_penalty.is_some()
        {
            chain.push(LlamaSampler::penalties(
                n_vocab,
                PENALTY_WINDOW,
                self.repetition_penalty
                    .unwrap_or(1.0)
                    .max(f32::MIN_POSITIVE),
                self.frequency_penalty.unwrap_or(0.0),
                self.presence_penalty.unwrap_or(0.0),
            ));
        }
        let temperature = self.temperature.unwrap_or(DEFAULT_TEMPERATURE);
        if temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
            return LlamaSampler::chain_simple(chain);
        }
        if let Some(k) = self.top_k.filter(|k| *k > 0) {
            chain.push(LlamaSampler::top_k(i32::try_from(k).unwrap_or(i32::MAX)));
        }
        if let Some(p) = self.top_p {
            chain.push(LlamaSampler::top_p(p, 1));
        }
        if let Some(p) = self.min_p {
            chain.push(LlamaSampler::min_p(p, 1));
        }
        chain.push(LlamaSampler::temp(temperature));
        chain.push(LlamaSampler::dist(self.seed.map_or(RANDOM_SEED, fold_seed)));
        LlamaSampler::chain_simple(chain)
    }
}

/// A 64-bit seed folded into llama.cpp's 32 bits (avoiding its "random" value).
fn fold_seed(seed: u64) -> u32 {
    let folded = (seed ^ (seed >> 32)) as u32;
    if folded == RANDOM_SEED {
        0
    } else {
        folded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_keep_their_high_bits_and_never_mean_random() {
        assert_ne!(fold_seed(1), fold_seed(1 << 32 | 1));
        assert_ne!(fold_seed(u64::from(u32::MAX)), RANDOM_SEED);
    }

    #[test]
    fn every_honoured_field_is_taken_from_the_request() {
        let params = crate::providers::every_sampler_field();
        let sampling = Sampling::of(&params);
        assert_eq!(sampling.temperature, Some(0.5));
        assert_eq!(sampling.top_k, Some(40));
        assert_eq!(sampling.min_p, Some(0.05));
        assert_eq!(sampling.repetition_penalty, Some(1.1));
        assert_eq!(sampling.seed, Some(7));
    }
}
