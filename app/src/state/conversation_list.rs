//! The sidebar's list of conversations, shared so any page can refresh it.

use crate::domain::errors::AppError;
use crate::domain::model::ConversationSummary;
use crate::functions::conversations::list_conversations;
use leptos::prelude::*;

/// The conversation list resource plus a way to ask for a fresh copy.
#[derive(Clone, Copy)]
pub struct ConversationList {
    version: RwSignal<u64>,
    pub items: Resource<Result<Vec<ConversationSummary>, AppError>>,
}

impl ConversationList {
    /// Creates the list and provides it as context.
    pub fn provide() -> Self {
        let version = RwSignal::new(0);
        let items = Resource::new(move || version.get(), |_| list_conversations());
        let list = ConversationList { version, items };
        provide_context(list);
        list
    }

    /// Fetches the list again (after a create, rename, delete or send).
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }

    /// The title of one conversation as the list last knew it.
    pub fn title_of(&self, id: uuid::Uuid) -> Option<String> {
        self.items.get().and_then(|items| {
            items
                .ok()?
                .into_iter()
                .find(|c| c.id == id)
                .map(|c| c.display_title().to_string())
        })
    }
}

/// The list provided by the `App`.
pub fn use_conversation_list() -> ConversationList {
    expect_context::<ConversationList>()
}
