-- The participant's database: its ledger (active contracts, event log, completions), the
-- protocol state it must not lose over a restart (requests awaiting their verdict, in-flight
-- submissions, command deduplication, the sequencer-client clean position), and its
-- administrative state (parties, users and rights, packages, topology).

-- One row. The clean position (the last sequenced event whose effects are stored) and the
-- ledger end (the last offset handed out) are written in the same transaction as the effects
-- of that event, so after a crash the participant resumes exactly after what it stored.
CREATE TABLE ledger_state (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    ledger_end_counter bigint  NOT NULL DEFAULT 0 CHECK (ledger_end_counter >= 0),
    sequencer_counter  bigint,
    sequencer_ts_us    bigint
);
INSERT INTO ledger_state DEFAULT VALUES;

-- Contracts with a hosted stakeholder. Archived ones stay (archived_at_offset set) so that
-- the activeness check can tell "archived" from "never heard of".
CREATE TABLE contracts (
    contract_id        text    PRIMARY KEY,
    template_id        text    NOT NULL,   -- package_id:Module:Entity
    signatories        text[]  NOT NULL,
    stakeholders       text[]  NOT NULL,
    key_hash           text,
    payload            bytea   NOT NULL,
    ledger_time_us     bigint  NOT NULL,
    created_at_offset  text    NOT NULL,
    archived_at_offset text
);
CREATE INDEX contracts_active_by_template ON contracts (template_id, contract_id)
    WHERE archived_at_offset IS NULL;
CREATE INDEX contracts_active_by_stakeholder ON contracts USING gin (stakeholders)
    WHERE archived_at_offset IS NULL;
-- Contract key uniqueness, enforced once more by the database.
CREATE UNIQUE INDEX contracts_active_key ON contracts (key_hash)
    WHERE archived_at_offset IS NULL AND key_hash IS NOT NULL;

-- Contracts a hosted party learnt of without being a stakeholder (divulgence).
CREATE TABLE divulged_contracts (
    contract_id        text   NOT NULL,
    party              text   NOT NULL,
    template_id        text   NOT NULL,
    payload            bytea  NOT NULL,
    ledger_time_us     bigint NOT NULL,
    divulged_at_offset text   NOT NULL,
    PRIMARY KEY (contract_id, party)
);

-- The event log: one row per accepted transaction at its offset; its events (nodes of the
-- projection for the hosted parties, engine node ids kept) and who witnesses each of them.
CREATE TABLE transactions (
    ledger_offset   text   PRIMARY KEY,
    transaction_id  text   NOT NULL UNIQUE,
    command_id      text   NOT NULL DEFAULT '',
    workflow_id     text   NOT NULL DEFAULT '',
    application_id  text   NOT NULL DEFAULT '',
    submitters      text[] NOT NULL DEFAULT '{}',
    ledger_time_us  bigint NOT NULL,
    record_time_us  bigint NOT NULL
);

CREATE TABLE events (
    ledger_offset  text    NOT NULL REFERENCES transactions (ledger_offset),
    node_id        integer NOT NULL,
    parent_node_id integer,
    kind           text    NOT NULL CHECK (kind IN ('create', 'exercise', 'fetch', 'lookup')),
    contract_id    text,
    template_id    text    NOT NULL,
    consuming      boolean NOT NULL DEFAULT false,
    payload        bytea   NOT NULL,
    PRIMARY KEY (ledger_offset, node_id)
);

CREATE TABLE event_witnesses (
    ledger_offset text    NOT NULL,
    node_id       integer NOT NULL,
    party         text    NOT NULL,
    flat          boolean NOT NULL,
    PRIMARY KEY (ledger_offset, node_id, party),
    FOREIGN KEY (ledger_offset, node_id) REFERENCES events (ledger_offset, node_id)
);
CREATE INDEX event_witnesses_by_party ON event_witnesses (party, ledger_offset);

-- Command completions, per application and submitting parties, at their offsets. An accepted
-- command's completion shares its transaction's offset; a rejection has an offset of its own.
CREATE TABLE completions (
    ledger_offset  text    PRIMARY KEY,
    application_id text    NOT NULL,
    act_as         text[]  NOT NULL,
    command_id     text    NOT NULL,
    submission_id  text    NOT NULL DEFAULT '',
    transaction_id text,
    status_code    integer NOT NULL,   -- google.rpc.Code: 0 is OK
    error_id       text    NOT NULL DEFAULT '',
    message        text    NOT NULL DEFAULT '',
    record_time_us bigint  NOT NULL
);
CREATE INDEX completions_by_application ON completions (application_id, ledger_offset);

-- Command deduplication: the last accepted completion of each change id.
CREATE TABLE command_dedup (
    change_key        text   PRIMARY KEY,
    submission_id     text   NOT NULL,
    completion_offset text   NOT NULL,
    record_time_us    bigint NOT NULL
);
CREATE INDEX command_dedup_by_record_time ON command_dedup (record_time_us);

-- Submissions accepted by this participant and not yet completed.
CREATE TABLE in_flight_submissions (
    change_key             text   PRIMARY KEY,
    application_id         text   NOT NULL,
    command_id             text   NOT NULL,
    act_as                 text[] NOT NULL,
    submission_id          text   NOT NULL,
    message_id             text   NOT NULL UNIQUE,
    max_sequencing_time_us bigint NOT NULL,
    sequenced_at_us        bigint,
    request_id             text,
    payload                bytea  NOT NULL DEFAULT ''
);

-- Confirmation requests validated here and awaiting their verdict: their locks (to rebuild
-- the conflict detector after a restart) and what the verdict needs (the shell's payload).
CREATE TABLE pending_requests (
    request_id       text   PRIMARY KEY,
    request_ts_us    bigint NOT NULL,
    decision_time_us bigint,
    locked_contracts text[] NOT NULL,
    locked_keys      text[] NOT NULL,
    payload          bytea  NOT NULL DEFAULT ''
);

CREATE TABLE parties (
    party        text    PRIMARY KEY,
    display_name text    NOT NULL DEFAULT '',
    is_local     boolean NOT NULL,
    added_at_us  bigint  NOT NULL
);

CREATE TABLE users (
    user_id        text    PRIMARY KEY,
    primary_party  text    NOT NULL DEFAULT '',
    is_deactivated boolean NOT NULL DEFAULT false,
    created_at_us  bigint  NOT NULL
);

CREATE TABLE user_rights (
    user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    kind    text NOT NULL CHECK (kind IN ('participant_admin', 'can_act_as', 'can_read_as')),
    party   text NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, kind, party)
);

CREATE TABLE packages (
    package_id     text   PRIMARY KEY,
    name           text   NOT NULL DEFAULT '',
    source         bytea  NOT NULL,
    uploaded_at_us bigint NOT NULL
);

-- Topology transactions as received through the sequencer, replayed into the topology state
-- on start so "topology as of t" is answered from this participant's own store.
CREATE TABLE topology_transactions (
    sequenced_ts_us   bigint  NOT NULL,
    position          integer NOT NULL,
    effective_from_us bigint  NOT NULL,
    payload           bytea   NOT NULL,
    PRIMARY KEY (sequenced_ts_us, position)
);
