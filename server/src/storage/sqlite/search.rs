//! The SQLite side of search: titles by `LIKE`, message text through the
//! FTS5 index that migration 0005 keeps in step with `messages`.

use super::{parsed_column, summary_from_row, uuid_column, SqliteStore, SUMMARY_COLUMNS};
use crate::storage::{StorageResult, SNIPPET_WORDS};
use app::domain::search::{
    contains_pattern, full_text_query, MessageHit, SearchResults, MATCH_END, MATCH_START,
};
use sqlx::Row;
use uuid::Uuid;

impl SqliteStore {
    pub(super) async fn search_owned(
        &self,
        owner: Uuid,
        input: &str,
        limit: u32,
    ) -> StorageResult<SearchResults> {
        let Some(query) = full_text_query(input) else {
            return Ok(SearchResults::default());
        };
        let titles = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations \
             WHERE owner_id = ? AND title LIKE ? ESCAPE '\\' \
             ORDER BY updated_at DESC LIMIT ?"
        ))
        .bind(owner.to_string())
        .bind(contains_pattern(input))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let hits = sqlx::query(
            "SELECT m.id, m.conversation_id, m.role, c.title, \
                    snippet(message_search, 0, ?, ?, '…', ?) AS snippet \
             FROM message_search \
             JOIN message_search_keys k ON k.key = message_search.rowid \
             JOIN messages m ON m.id = k.message_id \
             JOIN conversations c ON c.id = m.conversation_id \
             WHERE message_search MATCH ? AND c.owner_id = ? AND m.pruned_at IS NULL \
             ORDER BY rank LIMIT ?",
        )
        .bind(MATCH_START.to_string())
        .bind(MATCH_END.to_string())
        .bind(SNIPPET_WORDS)
        .bind(query)
        .bind(owner.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(SearchResults {
            conversations: titles
                .iter()
                .map(summary_from_row)
                .collect::<Result<_, _>>()?,
            messages: hits
                .iter()
                .map(|row| {
                    Ok(MessageHit {
                        conversation_id: uuid_column(row, "messages", "conversation_id")?,
                        conversation_title: row.try_get("title")?,
                        message_id: uuid_column(row, "messages", "id")?,
                        role: parsed_column(row, "messages", "role")?,
                        snippet: row.try_get("snippet")?,
                    })
                })
                .collect::<StorageResult<_>>()?,
        })
    }
}
