//! The offline model's writing: a short markdown reply (a sentence, a
//! list, a code block) picked deterministically from a seed, and the
//! split of that reply into word-sized tokens.

/// A small, fast, deterministic generator (SplitMix64).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[(self.next() % choices.len() as u64) as usize]
    }
}

const OPENINGS: &[&str] = &[
    "Here is an offline take on",
    "Thinking it through offline, about",
    "A quick, key-free answer on",
    "Let me sketch some thoughts on",
    "From Arbor's built-in model, regarding",
];

const POINTS: &[&str] = &[
    "start from the smallest version that works",
    "write down what you expect before you measure",
    "keep one branch per idea so they stay comparable",
    "name the trade-off out loud",
    "test the edge cases first, the happy path last",
    "prefer boring tools for the parts that must not fail",
    "measure twice, optimise once",
    "ask what would make the problem disappear",
    "split the work so each step can be checked",
    "keep the original around until the new one is proven",
    "look for the constraint that dominates the rest",
    "try the opposite assumption and see what breaks",
];

const CLOSINGS: &[&str] = &[
    "Edit your message or regenerate me to explore another branch.",
    "Every regeneration here takes a different path.",
    "Switch siblings with the arrows to compare answers.",
    "This reply was written without any network access.",
];

const FUNCTION_NAMES: &[&str] = &["branch", "explore", "compare", "grow", "prune", "sprout"];

/// The reply the offline model writes for `prompt` under `seed`.
pub fn compose_reply(prompt: &str, seed: u64) -> String {
    let mut rng = SplitMix64(seed);
    let topic = topic_of(prompt);
    let opening = rng.pick(OPENINGS);
    let mut points: Vec<&str> = Vec::new();
    while points.len() < 3 {
        let point = rng.pick(POINTS);
        if !points.contains(&point) {
            points.push(point);
        }
    }
    let function = rng.pick(FUNCTION_NAMES);
    let factor = rng.next() % 9 + 2;
    let closing = rng.pick(CLOSINGS);
    format!(
        "{opening} **{topic}**.\n\n\
         A few things worth trying:\n\n\
         - {}\n- {}\n- {}\n\n\
         ```rust\nfn {function}(depth: u32) -> u32 {{\n    depth * {factor}\n}}\n```\n\n\
         {closing}",
        points[0], points[1], points[2]
    )
}

/// The first few words of the prompt, stripped of markdown punctuation.
fn topic_of(prompt: &str) -> String {
    let words: Vec<String> = prompt
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '\'' | '-' | '.' | ',' | '?'))
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    if words.is_empty() {
        "your message".to_string()
    } else {
        words.join(" ")
    }
}

/// Splits text into tokens of one word each, whitespace kept with the word
/// before it, so that the tokens concatenate back to the text exactly.
pub fn split_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut in_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            in_space = true;
        } else if in_space {
            tokens.push(std::mem::take(&mut current));
            in_space = false;
        }
        current.push(c);
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_prompt_give_the_same_reply() {
        assert_eq!(
            compose_reply("hello there", 7),
            compose_reply("hello there", 7)
        );
    }

    #[test]
    fn different_seeds_give_different_replies() {
        let replies: std::collections::HashSet<String> =
            (0..20).map(|seed| compose_reply("hello", seed)).collect();
        assert!(
            replies.len() >= 15,
            "only {} distinct replies",
            replies.len()
        );
    }

    #[test]
    fn replies_contain_a_list_and_a_code_block_about_the_prompt() {
        let reply = compose_reply("Tell me about *trees*", 1);
        assert!(reply.contains("\n- "), "{reply}");
        assert!(reply.contains("```rust\n"), "{reply}");
        assert!(reply.contains("**Tell me about trees**"), "{reply}");
    }

    #[test]
    fn tokens_concatenate_back_to_the_text() {
        let text = compose_reply("a b", 3);
        let tokens = split_tokens(&text);
        assert!(tokens.len() > 30, "{} tokens", tokens.len());
        assert_eq!(tokens.concat(), text);
        assert_eq!(split_tokens("a  b\nc"), vec!["a  ", "b\n", "c"]);
        assert!(split_tokens("").is_empty());
    }

    #[test]
    fn an_empty_prompt_still_gets_a_topic() {
        assert!(compose_reply("   ", 0).contains("**your message**"));
    }
}
