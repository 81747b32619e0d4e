-- The team's shared history (crates/team/src/lib.rs). Rows are copies the
-- desks push through their outboxes; a copy replaces the stored one only
-- when its updated_ms is larger, so replays and older copies change nothing.

-- One interaction (a call; e-mails later), keyed `call:<Call-ID>`.
CREATE TABLE interactions (
    key            TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    agent          TEXT NOT NULL,
    number         TEXT NOT NULL,
    name           TEXT,
    direction      TEXT NOT NULL,
    outcome        TEXT,
    outcome_detail TEXT,
    started_ms     BIGINT NOT NULL,
    answered_ms    BIGINT,
    ended_ms       BIGINT,
    disposition    TEXT,
    ticket         TEXT,
    note           TEXT,
    transfers      TEXT,
    updated_ms     BIGINT NOT NULL
);

-- "The team's earlier interactions with this caller", newest first.
CREATE INDEX interactions_number_started ON interactions (number, started_ms DESC);
-- "What did this agent handle", newest first.
CREATE INDEX interactions_agent_started ON interactions (agent, started_ms DESC);

-- Each agent's presence (ready, away, on a call ...), newest copy wins.
CREATE TABLE agent_states (
    agent      TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    since_ms   BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
