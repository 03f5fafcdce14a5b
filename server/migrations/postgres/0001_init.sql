-- Arbor's schema on PostgreSQL: the same tables as on SQLite (see
-- migrations/sqlite/), with native types. Users own conversations; a
-- conversation is a tree of messages, one row per message, linked by
-- parent_id. Times are milliseconds since the Unix epoch.

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE conversations (
    id             UUID PRIMARY KEY,
    owner_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title          TEXT NOT NULL DEFAULT '',
    persona        TEXT,
    model          TEXT,
    params         TEXT NOT NULL DEFAULT '{}',
    -- Sent before every message of the conversation to the model.
    system_prompt  TEXT NOT NULL DEFAULT '',
    -- Whether Arbor's built-in tools are offered to models that call them.
    tools_enabled  BOOLEAN NOT NULL DEFAULT TRUE,
    active_leaf_id UUID,
    -- The node whose branch is the conversation's main one.
    main_node_id   UUID,
    -- A fork records the conversation and the last message it copied (no
    -- foreign keys: the source may be deleted later).
    forked_from_conversation_id UUID,
    forked_from_message_id      UUID,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE INDEX conversations_by_owner ON conversations (owner_id, updated_at DESC);

CREATE TABLE messages (
    id              UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent_id       UUID REFERENCES messages(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'interrupted', 'error')),
    model           TEXT,
    params          TEXT,
    tool_calls      TEXT,
    tool_call_id    TEXT,
    usage           TEXT,
    error           TEXT,
    client_id       TEXT,
    last_active_at  BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    -- When the message was pruned: hidden, and deleted for good once the
    -- time to undo has passed.
    pruned_at       BIGINT,
    UNIQUE (conversation_id, client_id)
);

CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at, id);
CREATE INDEX messages_by_parent ON messages (parent_id);
CREATE INDEX messages_streaming ON messages (status) WHERE status = 'streaming';
CREATE INDEX messages_pruned ON messages (pruned_at) WHERE pruned_at IS NOT NULL;

-- A name the user gave the branch through a node (usually its leaf).
CREATE TABLE branch_labels (
    message_id      UUID PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (conversation_id, name)
);

-- Server-side sessions: only the SHA-256 of the browser's token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Full-text search over message text: words lower-cased and without
-- diacritics (as SQLite's unicode61 tokenizer does), no stemming. Only
-- finished messages are indexed, so a streaming reply's checkpoints never
-- touch the index. (unaccent is a trusted extension: a database owner may
-- create it.)
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION arbor_words (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION arbor_words
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
CREATE INDEX messages_search ON messages
    USING GIN (to_tsvector('arbor_words', content))
    WHERE status <> 'streaming';
