-- Several nodes on one database (docs/ARCHITECTURE.md, "Several nodes").

-- Every running node: where the others forward to, and when it last said
-- it was alive. A node that stops cleanly deletes its row (and so its
-- leases); a killed one's row is removed once its heartbeat is long stale.
CREATE TABLE nodes (
    id           UUID PRIMARY KEY,
    address      TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Which node runs a conversation's actor, until when. No reference to
-- conversations: a lease may be taken for an id that turns out not to
-- exist (the actor then fails to load and the lease is released).
CREATE TABLE conversation_leases (
    conversation_id UUID PRIMARY KEY,
    node_id         UUID NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversation_leases_node ON conversation_leases (node_id);

-- The secret nodes present to each other's internal route, made by the
-- first node that starts.
CREATE TABLE cluster_secret (
    id     INT PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);

-- Events too large for a NOTIFY payload: the notification carries the id.
CREATE TABLE relayed_events (
    id         BIGSERIAL PRIMARY KEY,
    payload    TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
