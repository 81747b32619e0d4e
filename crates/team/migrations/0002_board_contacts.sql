-- The supervisor's board and the shared contacts (crates/team/src/lib.rs).

-- An interaction's script answers ("Question: answer" lines) and form data
-- (the saved forms as JSON text).
ALTER TABLE interactions ADD COLUMN script TEXT;
ALTER TABLE interactions ADD COLUMN form TEXT;
-- Today's figures per agent read the interactions since midnight.
CREATE INDEX interactions_started ON interactions (started_ms);

-- What each agent is doing, for the board: their extension, a break's
-- reason, the caller in hand, and a hand raised for help.
ALTER TABLE agent_states ADD COLUMN extension TEXT;
ALTER TABLE agent_states ADD COLUMN reason TEXT;
ALTER TABLE agent_states ADD COLUMN call_number TEXT;
ALTER TABLE agent_states ADD COLUMN call_name TEXT;
ALTER TABLE agent_states ADD COLUMN help_since_ms BIGINT;

-- The team's contacts, one per number. The copy with the larger
-- updated_ms wins, whole (no field-by-field merge); a deletion is a copy
-- too (deleted = true), so it wins or loses by the same rule.
CREATE TABLE contacts (
    number     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    company    TEXT,
    note       TEXT,
    email      TEXT,
    agent      TEXT NOT NULL,
    deleted    BOOLEAN NOT NULL DEFAULT FALSE,
    updated_ms BIGINT NOT NULL
);
