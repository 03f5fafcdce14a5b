//! The server function behind the search box.

use crate::domain::errors::AppError;
use crate::domain::search::SearchResults;
use leptos::prelude::*;
use server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::functions::run;

/// Conversations whose title contains `query` and messages holding every
/// word of it, across all the user's conversations and branches.
#[server(endpoint = "search", input = Json)]
pub async fn search(query: String) -> Result<SearchResults, AppError> {
    run(|backend, user| async move { backend.search(user, query).await }).await
}
