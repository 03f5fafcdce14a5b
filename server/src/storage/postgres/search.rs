//! The PostgreSQL side of search: titles by `ILIKE`, message text through
//! the GIN index on `to_tsvector('arbor_words', content)` of finished
//! messages (see migrations/postgres/0001_init.sql), snippets by
//! `ts_headline`.

use super::rows::{parsed_column, summary_from_row};
use super::PostgresStore;
use super::SUMMARY_COLUMNS;
use crate::storage::{StorageResult, SNIPPET_WORDS};
use app::domain::search::{
    contains_pattern, prefix_tsquery, MessageHit, SearchResults, MATCH_END, MATCH_START,
};
use sqlx::Row;
use uuid::Uuid;

impl PostgresStore {
    pub(super) async fn search_owned(
        &self,
        owner: Uuid,
        input: &str,
        limit: u32,
    ) -> StorageResult<SearchResults> {
        let Some(query) = prefix_tsquery(input) else {
            return Ok(SearchResults::default());
        };
        let limit = i64::from(limit);
        let titles = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations \
             WHERE owner_id = $1 AND title ILIKE $2 ESCAPE '\\' \
             ORDER BY updated_at DESC LIMIT $3"
        ))
        .bind(owner)
        .bind(contains_pattern(input))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let headline = format!(
            "StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords={}, MinWords={}, \
             ShortWord=0, HighlightAll=false",
            2 * SNIPPET_WORDS,
            SNIPPET_WORDS
        );
        let hits = sqlx::query(
            "SELECT m.id, m.conversation_id, m.role, c.title, \
                    ts_headline('arbor_words', m.content, q, $1) AS snippet \
             FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id, \
                  to_tsquery('arbor_words', $2) AS q \
             WHERE to_tsvector('arbor_words', m.content) @@ q AND m.status <> 'streaming' \
               AND c.owner_id = $3 AND m.pruned_at IS NULL \
             ORDER BY ts_rank(to_tsvector('arbor_words', m.content), q) DESC, m.id \
             LIMIT $4",
        )
        .bind(headline)
        .bind(query)
        .bind(owner)
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
                        conversation_id: row.try_get("conversation_id")?,
                        conversation_title: row.try_get("title")?,
                        message_id: row.try_get("id")?,
                        role: parsed_column(row, "messages", "role")?,
                        snippet: row.try_get("snippet")?,
                    })
                })
                .collect::<StorageResult<_>>()?,
        })
    }
}
