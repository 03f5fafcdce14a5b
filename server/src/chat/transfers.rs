//! Exports and imports against the database: assembling archives from a
//! user's (or everyone's) stored conversations, and storing what an
//! uploaded file holds, one conversation per transaction.

use crate::clock::now_ms;
use crate::storage::{ConversationRecord, Store};
use crate::transfer::archive::{Archive, ArchiveKind, ArchivedConversation, ArchivedFork};
use crate::transfer::{decode, ImportLimits};
use app::domain::errors::AppError;
use app::domain::model::MessageNode;
use app::domain::transfer::{ImportSummary, ImportedConversation, SkippedConversation};
use std::collections::HashSet;
use uuid::Uuid;

/// A stored conversation as archived: every message not pruned, the names
/// on them, the main branch and the shown leaf.
pub async fn archived(
    store: &dyn Store,
    record: ConversationRecord,
    owner: Option<String>,
) -> Result<ArchivedConversation, AppError> {
    let id = record.summary.id;
    let messages: Vec<MessageNode> = store
        .messages(id)
        .await?
        .into_iter()
        .map(|m| m.node)
        .collect();
    let present: HashSet<Uuid> = messages.iter().map(|m| m.id).collect();
    let labels = store
        .branch_labels(id)
        .await?
        .into_iter()
        .filter(|l| present.contains(&l.node_id))
        .collect();
    Ok(ArchivedConversation {
        id,
        title: record.summary.title,
        created_at: record.summary.created_at,
        updated_at: record.summary.updated_at,
        system_prompt: record.system_prompt,
        settings: record.settings,
        active_leaf_id: record.active_leaf_id.filter(|l| present.contains(l)),
        main_node_id: record.main_node_id.filter(|m| present.contains(m)),
        labels,
        forked_from: record
            .forked_from
            .map(|(conversation_id, message_id)| ArchivedFork {
                conversation_id,
                message_id,
            }),
        owner,
        messages,
    })
}

/// Every conversation of `user`, as one archive.
pub async fn backup(store: &dyn Store, user: Uuid) -> Result<Archive, AppError> {
    let conversations = conversations_of(store, user, None).await?;
    Ok(Archive::new(ArchiveKind::Backup, conversations, now_ms()))
}

/// Every conversation of every user, each naming its owner.
pub async fn instance_backup(store: &dyn Store) -> Result<Archive, AppError> {
    let mut conversations = Vec::new();
    for (user, username) in store.users().await? {
        conversations.extend(conversations_of(store, user, Some(username)).await?);
    }
    Ok(Archive::new(ArchiveKind::Instance, conversations, now_ms()))
}

async fn conversations_of(
    store: &dyn Store,
    user: Uuid,
    owner: Option<String>,
) -> Result<Vec<ArchivedConversation>, AppError> {
    let mut conversations = Vec::new();
    for summary in store.list_conversations(user).await? {
        // A conversation deleted meanwhile is simply not in the backup.
        if let Some(record) = store.conversation(summary.id).await? {
            conversations.push(archived(store, record, owner.clone()).await?);
        }
    }
    Ok(conversations)
}

/// Reads `bytes` (the file `file_name`) and stores each conversation it
/// holds for `user`, each in one transaction. A file that cannot be read
/// at all is refused as a whole, naming the file; a conversation that
/// cannot be read is skipped, naming it and the field at fault.
pub async fn import(
    store: &dyn Store,
    user: Uuid,
    file_name: &str,
    bytes: bytes::Bytes,
    limits: ImportLimits,
) -> Result<ImportSummary, AppError> {
    let now = now_ms();
    let decoded = tokio::task::spawn_blocking(move || decode(&bytes, limits, now))
        .await
        .map_err(|_| AppError::Internal("the import could not be read".into()))?
        .map_err(|e| match e {
            crate::transfer::DecodeError::TooLarge { .. } => {
                AppError::TooLarge(format!("{file_name}: {e}"))
            }
            _ => AppError::BadRequest(format!("{file_name}: {e}")),
        })?;
    let mut summary = ImportSummary {
        file: file_name.to_string(),
        format: decoded.format.label().to_string(),
        imported: Vec::new(),
        skipped: Vec::new(),
    };
    for conversation in decoded.conversations {
        let conversation = match conversation {
            Ok(conversation) => conversation,
            Err(unreadable) => {
                summary.skipped.push(SkippedConversation {
                    conversation: unreadable.conversation,
                    reason: unreadable.reason,
                });
                continue;
            }
        };
        let title = conversation.title.clone();
        let messages = conversation.messages.len();
        let branches = conversation.leaf_count();
        match store.import_conversation(user, conversation).await {
            Ok((stored, new_ids)) => summary.imported.push(ImportedConversation {
                id: stored.id,
                title: stored.title,
                messages,
                branches,
                new_ids,
            }),
            Err(error) => {
                tracing::error!(%error, "an imported conversation was not stored");
                summary.skipped.push(SkippedConversation {
                    conversation: app::domain::model::display_title(&title).to_string(),
                    reason: "the database could not store it; nothing of it was kept".into(),
                });
            }
        }
    }
    metrics::counter!("arbor_imported_conversations_total")
        .increment(summary.imported.len() as u64);
    Ok(summary)
}
