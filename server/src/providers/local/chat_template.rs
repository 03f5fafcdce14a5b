//! The chat template a GGUF carries (`tokenizer.chat_template`): Jinja text
//! that turns a thread into the one prompt string the model was trained on.
//! Rendered with minijinja the way Hugging Face's `apply_chat_template`
//! does (blocks trimmed, Python string methods available).

use super::super::ThreadMessage;
use app::domain::model::Role;
use minijinja::{context, Environment, Error, ErrorKind};

/// A compiled chat template and the special tokens it may name.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

/// One message as templates expect it.
#[derive(serde::Serialize)]
struct TemplateMessage<'a> {
    role: &'a str,
    content: &'a str,
}

const NAME: &str = "chat";

impl ChatTemplate {
    /// Compiles `source`; `bos_token` and `eos_token` are the texts of the
    /// model's special tokens, which some templates print.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<ChatTemplate, String> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template_owned(NAME, source.to_string())
            .map_err(|e| format!("its chat template does not compile: {e}"))?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
        })
    }

    /// The prompt for `thread`: the model's turn starts after it. A thread
    /// ending with the model's own words (a reply being continued) renders
    /// the turn before it and then those words, so the model carries on
    /// mid-reply instead of starting a new one.
    pub fn render(&self, thread: &[ThreadMessage]) -> Result<String, String> {
        let (history, prefill) = match thread.split_last() {
            Some((last, before)) if last.role == Role::Assistant => (before, last.content.as_str()),
            _ => (thread, ""),
        };
        let messages: Vec<TemplateMessage> = history
            .iter()
            .map(|m| TemplateMessage {
                role: m.role.as_str(),
                content: &m.content,
            })
            .collect();
        let template = self
            .env
            .get_template(NAME)
            .map_err(|e| format!("the chat template is missing: {e}"))?;
        let mut prompt = template
            .render(context! {
                messages => messages,
                add_generation_prompt => true,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
            })
            .map_err(|e| format!("the model's chat template refused the thread: {e}"))?;
        prompt.push_str(prefill);
        Ok(prompt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M-Instruct's template, as its GGUF carries it.
    pub(crate) const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    fn smollm2() -> ChatTemplate {
        ChatTemplate::new(SMOLLM2, "<|im_start|>", "<|im_end|>").expect("compiles")
    }

    #[test]
    fn a_thread_becomes_chatml_with_the_model_turn_opened() {
        let prompt = smollm2()
            .render(&[
                ThreadMessage::new(Role::System, "Be brief."),
                ThreadMessage::new(Role::User, "Hi"),
            ])
            .expect("renders");
        assert_eq!(
            prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn without_a_system_prompt_the_template_supplies_its_own() {
        let prompt = smollm2()
            .render(&[ThreadMessage::new(Role::User, "Hi")])
            .expect("renders");
        assert!(prompt.starts_with("<|im_start|>system\nYou are a helpful AI assistant"));
        assert!(prompt.ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"));
    }

    #[test]
    fn a_reply_being_continued_stays_open() {
        let prompt = smollm2()
            .render(&[
                ThreadMessage::new(Role::User, "Count"),
                ThreadMessage::new(Role::Assistant, "one, two,"),
            ])
            .expect("renders");
        assert!(prompt.ends_with("<|im_start|>assistant\none, two,"));
    }

    #[test]
    fn python_methods_special_tokens_and_raise_exception_work() {
        let template = ChatTemplate::new(
            "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'tool' %}{{ raise_exception('no tools') }}{% endif %}{{ m['content'].strip() }}{% endfor %}",
            "<s>",
            "</s>",
        )
        .expect("compiles");
        let thread = [ThreadMessage::new(Role::User, "  hi  ")];
        assert_eq!(template.render(&thread).expect("renders"), "<s>hi");
        let refused = template
            .render(&[ThreadMessage::new(Role::Tool, "x")])
            .expect_err("raises");
        assert!(refused.contains("no tools"), "{refused}");
    }

    #[test]
    fn a_broken_template_is_refused_with_a_reason() {
        let error = ChatTemplate::new("{% for %}", "", "")
            .err()
            .expect("does not compile");
        assert!(error.contains("does not compile"), "{error}");
    }
}
