//! Titles for untitled conversations: asked of the conversation's model
//! after its first complete reply, with a heuristic from the first message
//! as the fallback (and the only source for the offline model).

use super::generation::{GenerationUpdate, UpdateKind};
use crate::providers::{Delta, GenerationRequest, Provider, ThreadMessage};
use app::domain::model::Role;
use futures::{FutureExt, StreamExt};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Longest title, in words.
const MAX_WORDS: usize = 8;
/// Longest title, in characters.
const MAX_CHARS: usize = 80;
/// How much of the conversation the model is shown.
const MAX_EXCERPT_CHARS: usize = 2000;
/// How long the model may take to name the conversation.
const TITLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The instruction a model gets for naming a conversation.
pub const TITLE_PROMPT: &str = "Write a title of 2 to 8 words for the conversation below. \
Reply with the title only: no quotes, no punctuation at the end.";

/// A title made of the first words of the first message.
pub fn heuristic_title(first_message: &str) -> String {
    let words: Vec<String> = first_message
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .split_whitespace()
        .map(|word| {
            word.chars()
                .filter(|c| !matches!(c, '#' | '*' | '`' | '_' | '>' | '[' | ']' | '(' | ')' | '"'))
                .collect::<String>()
        })
        .filter(|word| !word.is_empty())
        .take(MAX_WORDS)
        .collect();
    finish(&words.join(" ")).unwrap_or_else(|| "Untitled conversation".to_string())
}

/// The model's answer made into a title: its first line, without quotes,
/// a "Title:" label or final punctuation, at most eight words.
pub fn clean_model_title(raw: &str) -> Option<String> {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line
        .strip_prefix("Title:")
        .or_else(|| line.strip_prefix("title:"))
        .unwrap_or(line);
    let words: Vec<&str> = line
        .split_whitespace()
        .map(|w| w.trim_matches(|c| matches!(c, '"' | '\'' | '*' | '#' | '`')))
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect();
    finish(&words.join(" "))
}

/// Trims trailing punctuation (a question mark stays), caps the length and
/// capitalises the first letter; `None` when nothing is left.
fn finish(text: &str) -> Option<String> {
    let trimmed = text
        .trim()
        .trim_end_matches(['.', ',', ':', ';', '!', '-'])
        .trim();
    if trimmed.is_empty() {
        return None;
    }
    let capped: String = trimmed.chars().take(MAX_CHARS).collect();
    let mut chars = capped.chars();
    let first = chars.next()?;
    Some(first.to_uppercase().chain(chars).collect())
}

/// Asks `provider` for a title in the background; the answer (or the
/// fallback) comes back to the actor as an update about `reply`.
pub fn spawn(
    provider: Arc<dyn Provider>,
    model: String,
    first_message: String,
    reply_text: String,
    fallback: String,
    reply: Uuid,
    updates: mpsc::Sender<GenerationUpdate>,
) {
    tokio::spawn(async move {
        let asked = tokio::time::timeout(
            TITLE_TIMEOUT,
            ask(provider, model, &first_message, &reply_text),
        );
        // A provider that panics still gets its fallback sent, so the
        // actor is never left waiting for a title that cannot come.
        let title = match AssertUnwindSafe(asked).catch_unwind().await {
            Ok(Ok(Some(title))) => title,
            Ok(Ok(None) | Err(_)) => fallback,
            Err(_) => {
                tracing::error!("naming the conversation panicked");
                fallback
            }
        };
        _ = updates
            .send(GenerationUpdate {
                id: reply,
                kind: UpdateKind::Title(title),
            })
            .await;
    });
}

async fn ask(
    provider: Arc<dyn Provider>,
    model: String,
    first_message: &str,
    reply: &str,
) -> Option<String> {
    let excerpt: String = format!("User: {first_message}\n\nAssistant: {reply}")
        .chars()
        .take(MAX_EXCERPT_CHARS)
        .collect();
    let request = GenerationRequest {
        model,
        // The instruction goes in the user turn: some local models ignore system prompts.
        thread: vec![ThreadMessage::new(
            Role::User,
            format!("{TITLE_PROMPT}\n\n{excerpt}"),
        )],
        params: Default::default(),
        tools: Vec::new(),
    };
    let mut stream = provider.generate(request);
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(Delta::Text(piece)) => text.push_str(&piece),
            Ok(Delta::Usage(_) | Delta::ToolCalls(_) | Delta::Waiting { .. }) => {}
            Err(error) => {
                tracing::warn!(%error, "the model could not name the conversation");
                return None;
            }
        }
    }
    clean_model_title(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heuristic_titles_are_the_first_eight_words_of_the_first_line() {
        assert_eq!(
            heuristic_title("tell me about the tallest trees on earth, please, in detail\nmore"),
            "Tell me about the tallest trees on earth"
        );
        assert_eq!(heuristic_title("## **Why** is `x` slow?"), "Why is x slow?");
        assert_eq!(heuristic_title("\n\n  hi. "), "Hi");
        assert_eq!(heuristic_title("***"), "Untitled conversation");
    }

    #[test]
    fn model_answers_lose_quotes_labels_and_final_punctuation() {
        assert_eq!(
            clean_model_title("\"Fake Model Title.\"\n"),
            Some("Fake Model Title".into())
        );
        assert_eq!(
            clean_model_title("Title: growing oak trees"),
            Some("Growing oak trees".into())
        );
        assert_eq!(
            clean_model_title("one two three four five six seven eight nine ten"),
            Some("One two three four five six seven eight".into())
        );
        assert_eq!(clean_model_title("  \n \"\" "), None);
    }

    #[test]
    fn titles_are_capped_in_length() {
        let long = "a".repeat(200);
        assert_eq!(heuristic_title(&long).chars().count(), MAX_CHARS);
    }
}
