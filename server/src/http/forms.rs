//! The composer's plain form posts (see [`app::domain::forms`]): a message
//! sent before the page's code has arrived, or with scripts off, is stored
//! and answered exactly as the app's own send, then the browser is sent
//! to the conversation (303). A refused post answers a small page with the
//! reason and the text, in a form to send again, so nothing typed is lost.

use crate::accounts::Accounts;
use crate::chat::service::ChatService;
use crate::http::caller::signed_in;
use app::domain::backend::{AccountsBackend, Backend, Caller, NewUserMessage};
use app::domain::errors::{parse_id, AppError};
use app::domain::forms::NEW_CONVERSATION_URL;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// The fields of a composer post ([`app::domain::forms::field`]); missing
/// ones read as empty, so a bare post gets the usual "type a message" error.
#[derive(Debug, Default, Deserialize)]
pub struct ComposerPost {
    #[serde(default)]
    text: String,
    #[serde(default)]
    parent: String,
}

impl ComposerPost {
    /// The text as typed: browsers post a text area's line breaks as CRLF.
    fn text(&self) -> String {
        self.text.replace("\r\n", "\n")
    }
}

/// `POST /c/{id}/send`: a message under the branch the page showed.
pub async fn send_from_form(
    Extension(chat): Extension<Arc<ChatService>>,
    Extension(accounts): Extension<Arc<Accounts>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(post): Form<ComposerPost>,
) -> Response {
    let sent = async {
        let user = signed_in(&caller).map_err(|e| e.0)?;
        let conversation = parse_id(&id, "conversation")?;
        let parent = match post.parent.trim() {
            "" => None,
            parent => Some(parse_id(parent, "parent message")?),
        };
        accounts.count_send(&caller, &user)?;
        let message = NewUserMessage {
            conversation_id: conversation,
            parent_id: parent,
            client_id: form_client_id(parent, &post.text()),
            text: post.text(),
        };
        chat.send_message(user.id, message).await?;
        Ok::<_, AppError>(conversation)
    }
    .await;
    match sent {
        Ok(conversation) => Redirect::to(&format!("/c/{conversation}")).into_response(),
        Err(error) => {
            let action = format!("/c/{}/send", id.trim());
            let back = format!("/c/{}", id.trim());
            refused(&error, &post, &action, &back)
        }
    }
}

/// `POST /new`: a new conversation with its first message, on the default
/// model. A refused first message leaves no empty conversation behind.
pub async fn start_from_form(
    Extension(chat): Extension<Arc<ChatService>>,
    Extension(accounts): Extension<Arc<Accounts>>,
    Extension(caller): Extension<Caller>,
    Form(post): Form<ComposerPost>,
) -> Response {
    let started = async {
        let user = signed_in(&caller).map_err(|e| e.0)?;
        accounts.count_send(&caller, &user)?;
        let conversation = chat.create_conversation(user.id).await?.id;
        let message = NewUserMessage {
            conversation_id: conversation,
            parent_id: None,
            client_id: form_client_id(None, &post.text()),
            text: post.text(),
        };
        if let Err(error) = chat.send_message(user.id, message).await {
            if let Err(cleanup) = chat.delete_conversation(user.id, conversation).await {
                tracing::error!(%cleanup, "could not remove an unused conversation");
            }
            return Err(error);
        }
        Ok::<_, AppError>(conversation)
    }
    .await;
    match started {
        Ok(conversation) => Redirect::to(&format!("/c/{conversation}")).into_response(),
        Err(error) => refused(&error, &post, NEW_CONVERSATION_URL, "/"),
    }
}

/// The idempotency key of a post: the same text under the same parent is
/// one message (a Send clicked twice before the page answered), any other
/// text is a message of its own.
fn form_client_id(parent: Option<Uuid>, text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hash: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    match parent {
        Some(parent) => format!("form-{parent}-{hash}"),
        None => format!("form-root-{hash}"),
    }
}

/// A refused post: its status, and a page with the reason and the text.
fn refused(error: &AppError, post: &ComposerPost, action: &str, back: &str) -> Response {
    let status = StatusCode::from_u16(error.status_code()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Html(refused_page(error, post, action, back))).into_response()
}

/// The page of a refused post: the reason, and the text in a form that
/// posts to `action` again. Everything from the request is escaped.
fn refused_page(error: &AppError, post: &ComposerPost, action: &str, back: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not sent · Arbor</title><link rel="stylesheet" href="{stylesheet}"></head>
<body><main class="form-refused">
<h1>Your message was not sent</h1>
<p class="error" role="alert">{reason}</p>
<form class="composer" method="post" action="{action}">
<input type="hidden" name="parent" value="{parent}">
<textarea class="composer-input" name="text" aria-label="Message" rows="6">{text}</textarea>
<div class="composer-actions"><button type="submit" class="send">Send again</button></div>
</form>
{sign_in}<p><a href="{back}">Back</a></p>
</main></body></html>"#,
        stylesheet = crate::http::bundle::stylesheet_href(),
        reason = ammonia::clean_text(&error.to_string()),
        action = ammonia::clean_text(action),
        parent = ammonia::clean_text(&post.parent),
        text = ammonia::clean_text(&post.text),
        back = ammonia::clean_text(back),
        sign_in = match error {
            AppError::Unauthorized(_) => format!(
                r#"<p><a href="/login?next={}">Sign in</a>, then send it again.</p>"#,
                ammonia::clean_text(back)
            ),
            _ => String::new(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_under_the_same_parent_is_one_message() {
        let parent = Some(Uuid::from_u128(1));
        assert_eq!(
            form_client_id(parent, "hello"),
            form_client_id(parent, "hello")
        );
        assert_ne!(
            form_client_id(parent, "hello"),
            form_client_id(parent, "hello!")
        );
        assert_ne!(
            form_client_id(parent, "hello"),
            form_client_id(None, "hello")
        );
    }

    #[test]
    fn a_refused_post_shows_the_reason_and_keeps_the_text_inert() {
        let post = ComposerPost {
            text: "<script>alert(1)</script> & more".into(),
            parent: String::new(),
        };
        let error = AppError::BadRequest("Type a message first.".into());
        let page = refused_page(&error, &post, "/c/\"x/send", "/");
        // Escaped whitespace and all: the browser shows it as typed.
        let reason = ammonia::clean_text("Type a message first.");
        assert!(page.contains(&reason), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)"), "{page}");
        assert!(!page.contains("<script>"), "{page}");
        assert!(!page.contains("\"x/send"), "{page}");
        assert_eq!(
            refused(&error, &post, "/new", "/").status(),
            StatusCode::BAD_REQUEST
        );
    }
}
