-- Branches as first-class things: names on nodes, a main branch, pruning
-- with a time to undo it, and where a forked conversation came from.

-- A name the user gave the branch through a node (usually its leaf).
CREATE TABLE branch_labels (
    message_id      TEXT PRIMARY KEY NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, name)
);

-- The node whose branch is the conversation's main one.
ALTER TABLE conversations ADD COLUMN main_node_id TEXT;

-- A fork records the conversation and the last message it copied (no
-- foreign keys: the source may be deleted later).
ALTER TABLE conversations ADD COLUMN forked_from_conversation_id TEXT;
ALTER TABLE conversations ADD COLUMN forked_from_message_id TEXT;

-- When a message was pruned: hidden, and deleted for good once the time
-- to undo has passed.
ALTER TABLE messages ADD COLUMN pruned_at INTEGER;
CREATE INDEX messages_pruned ON messages (pruned_at) WHERE pruned_at IS NOT NULL;
