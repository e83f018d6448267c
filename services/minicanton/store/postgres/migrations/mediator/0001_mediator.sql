-- The mediator database, shared by the active and passive instances of one mediator
-- (DESIGN.md §4 "Mediator active-passive"). Every write of an event happens in one transaction
-- with the clean position, under the lease (fencing): see store/postgres/mediator_store.py.

-- Leadership: the instance whose `holder` is here and whose lease has not expired is active.
-- `epoch` grows at every change of holder, so a deposed instance's writes are refused.
CREATE TABLE mediator_lease (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    holder text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL
);

-- The last sequenced event whose effects are stored (the sequencer client resumes after it).
CREATE TABLE mediator_position (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    counter bigint NOT NULL,
    ts bigint NOT NULL,
    event_hash bytea  -- null when the client gave none (then the chain check links it)
);

-- Every event received, as delivered and signed by the sequencer: the audit log's evidence
-- and what a restarted instance replays to rebuild its pending requests.
CREATE TABLE mediator_events (
    ts bigint PRIMARY KEY,
    counter bigint NOT NULL UNIQUE,
    event bytea NOT NULL
);

-- One row per envelope of every event, for the auditor: which request it belongs to (when
-- known) and what it is. The payload itself is in the event.
CREATE TABLE mediator_messages (
    ts bigint NOT NULL REFERENCES mediator_events (ts),
    envelope_index int NOT NULL,
    request_ts bigint,
    kind text NOT NULL,
    PRIMARY KEY (ts, envelope_index)
);
CREATE INDEX mediator_messages_by_request ON mediator_messages (request_ts);

CREATE TABLE mediator_requests (
    request_ts bigint PRIMARY KEY,
    root_hash bytea NOT NULL,
    submitting_participant text NOT NULL,
    confirmation_policy text NOT NULL,
    response_deadline_us bigint NOT NULL,
    decision_time_us bigint NOT NULL
);
CREATE INDEX mediator_requests_by_decision_time ON mediator_requests (decision_time_us);

CREATE TABLE mediator_responses (
    response_ts bigint NOT NULL,
    seq int NOT NULL,
    request_ts bigint NOT NULL,
    sender text NOT NULL,
    view_hash bytea,
    outcome text NOT NULL,
    note text NOT NULL,
    PRIMARY KEY (response_ts, seq)
);
CREATE INDEX mediator_responses_by_request ON mediator_responses (request_ts);

-- One verdict per request; also the send outbox: `sent_ts` is the timestamp of our own
-- receipt, `send_error` the sequencer's refusal. Rows with neither are (re)sent at start.
CREATE TABLE mediator_verdicts (
    request_ts bigint PRIMARY KEY,
    decided_ts bigint NOT NULL,
    message_id text NOT NULL UNIQUE,
    recipients text[] NOT NULL,
    max_sequencing_time_us bigint NOT NULL,
    verdict text NOT NULL,
    result bytea NOT NULL,
    sent_ts bigint,
    send_error text
);

-- Topology transactions received live in the shared member topology store
-- ("topology_member", store/postgres/topology_store.py), in this same database.
