-- Full-text search over message text (SQLite FTS5). A message is indexed
-- once it has stopped streaming, and indexed again when its text changes.

-- A stable integer key for each indexed message: the FTS rowid. (A plain
-- table's own rowid may change on VACUUM; an INTEGER PRIMARY KEY cannot.)
CREATE TABLE message_search_keys (
    key        INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE message_search USING fts5(
    content,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.status <> 'streaming'
BEGIN
    INSERT OR IGNORE INTO message_search_keys (message_id) VALUES (new.id);
    INSERT INTO message_search (rowid, content)
        SELECT key, new.content FROM message_search_keys WHERE message_id = new.id;
END;

CREATE TRIGGER message_search_update AFTER UPDATE OF content, status ON messages
BEGIN
    DELETE FROM message_search
        WHERE rowid = (SELECT key FROM message_search_keys WHERE message_id = old.id);
    INSERT OR IGNORE INTO message_search_keys (message_id)
        SELECT new.id WHERE new.status <> 'streaming';
    INSERT INTO message_search (rowid, content)
        SELECT key, new.content FROM message_search_keys
        WHERE message_id = new.id AND new.status <> 'streaming';
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM message_search
        WHERE rowid = (SELECT key FROM message_search_keys WHERE message_id = old.id);
    DELETE FROM message_search_keys WHERE message_id = old.id;
END;

-- Index what is already stored.
INSERT INTO message_search_keys (message_id)
    SELECT id FROM messages WHERE status <> 'streaming';
INSERT INTO message_search (rowid, content)
    SELECT k.key, m.content FROM message_search_keys k JOIN messages m ON m.id = k.message_id;
