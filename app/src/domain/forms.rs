//! The plain HTML form posts that work before the page's code has arrived
//! and with scripts off: where they go and what they carry. The composer
//! renders them; the server answers them (its `http/forms.rs`).

use uuid::Uuid;

/// Where the start page's composer posts: a new conversation with its
/// first message.
pub const NEW_CONVERSATION_URL: &str = "/new";

/// The route of a conversation's composer post, in the router's syntax.
pub const SEND_ROUTE: &str = "/c/{id}/send";

/// Where a conversation's composer posts a message.
pub fn send_url(conversation: Uuid) -> String {
    SEND_ROUTE.replace("{id}", &conversation.to_string())
}

/// The fields of a composer post.
pub mod field {
    /// The message text.
    pub const TEXT: &str = "text";
    /// The message the new one answers: the last one of the branch the
    /// page showed (absent or empty: the branch's root is new).
    pub const PARENT: &str = "parent";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversations_send_url_follows_its_route() {
        let id = Uuid::from_u128(7);
        assert_eq!(send_url(id), format!("/c/{id}/send"));
    }
}
