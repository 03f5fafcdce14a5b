-- A conversation's system prompt: sent before every message of the
-- conversation to the model; changing it affects only new replies.
ALTER TABLE conversations ADD COLUMN system_prompt TEXT NOT NULL DEFAULT '';
