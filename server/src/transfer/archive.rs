//! Arbor's own export format: a gzip-compressed JSON document holding
//! whole conversation trees, described in `docs/FORMAT.md`. The same
//! types carry every imported conversation on its way into the database.

use app::domain::model::{BranchLabel, ConversationSettings, MessageNode};
use app::domain::tree::{NodeLink, Tree};
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use uuid::Uuid;

/// The value of an archive's `format` field.
pub const FORMAT_NAME: &str = "arbor";

/// The version this build writes; it reads every version up to it.
pub const FORMAT_VERSION: u32 = 1;

/// What an archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveKind {
    /// One conversation.
    Conversation,
    /// Every conversation of one user.
    Backup,
    /// Every conversation of every user (an administrator's backup).
    Instance,
}

/// A whole archive file (before compression).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Archive {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    pub version: u32,
    pub kind: ArchiveKind,
    /// Milliseconds since the Unix epoch.
    pub exported_at: i64,
    pub conversations: Vec<ArchivedConversation>,
}

/// Where a forked conversation was copied from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedFork {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
}

/// One conversation with its whole tree: every message (pruned ones
/// excepted), the branch names, the main branch and the shown leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedConversation {
    pub id: Uuid,
    #[serde(default)]
    pub title: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub system_prompt: String,
    #[serde(default)]
    pub settings: ConversationSettings,
    /// The leaf of the branch shown when the conversation is opened.
    #[serde(default)]
    pub active_leaf_id: Option<Uuid>,
    #[serde(default)]
    pub main_node_id: Option<Uuid>,
    #[serde(default)]
    pub labels: Vec<BranchLabel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forked_from: Option<ArchivedFork>,
    /// The owner's username (instance backups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Parents before their children.
    pub messages: Vec<MessageNode>,
}

impl ArchivedConversation {
    /// A conversation read from another app: a fresh id, its messages and
    /// times, the shown leaf if the app recorded one, nothing else set.
    pub fn imported(
        title: String,
        (created_at, updated_at): (i64, i64),
        messages: Vec<MessageNode>,
        active_leaf_id: Option<Uuid>,
    ) -> Self {
        ArchivedConversation {
            id: Uuid::now_v7(),
            title,
            created_at,
            updated_at,
            system_prompt: String::new(),
            settings: ConversationSettings::default(),
            active_leaf_id,
            main_node_id: None,
            labels: Vec::new(),
            forked_from: None,
            owner: None,
            messages,
        }
    }

    /// The same conversation under new ids (conversation and messages),
    /// every reference between them kept.
    pub fn renumbered(mut self) -> Self {
        let fresh: HashMap<Uuid, Uuid> = self
            .messages
            .iter()
            .map(|m| (m.id, Uuid::now_v7()))
            .collect();
        let map = |id: Uuid| fresh.get(&id).copied().unwrap_or(id);
        self.id = Uuid::now_v7();
        for message in &mut self.messages {
            message.id = map(message.id);
            message.parent_id = message.parent_id.map(map);
        }
        self.active_leaf_id = self.active_leaf_id.map(map);
        self.main_node_id = self.main_node_id.map(map);
        for label in &mut self.labels {
            label.node_id = map(label.node_id);
        }
        self
    }

    /// How many branches (leaves) the tree has.
    pub fn leaf_count(&self) -> usize {
        Tree::from_links(self.messages.iter().map(NodeLink::from)).leaf_count()
    }
}

impl Archive {
    /// An archive of `conversations` taken at `now`.
    pub fn new(kind: ArchiveKind, conversations: Vec<ArchivedConversation>, now: i64) -> Self {
        Archive {
            format: FORMAT_NAME.into(),
            version: FORMAT_VERSION,
            kind,
            exported_at: now,
            conversations,
        }
    }

    /// The archive as a `.json.gz` file.
    pub fn to_gzip(&self) -> std::io::Result<Vec<u8>> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        serde_json::to_writer(&mut encoder, self)?;
        encoder.flush()?;
        encoder.finish()
    }
}
