-- Whether a conversation offers Arbor's built-in tools to models that can
-- call them (1: yes, the default).
ALTER TABLE conversations ADD COLUMN tools_enabled INTEGER NOT NULL DEFAULT 1;
