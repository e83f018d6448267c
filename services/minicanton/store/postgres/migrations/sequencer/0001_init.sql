-- The sequencer database, shared by every sequencer instance of one domain (DESIGN.md §4).

CREATE TABLE sequencer_settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    domain_id text NOT NULL,
    total_nodes int NOT NULL CHECK (total_nodes > 0),
    lower_bound_us bigint NOT NULL DEFAULT 0  -- events at or below this were pruned
);

CREATE TABLE sequencer_members (
    number serial PRIMARY KEY,
    member text NOT NULL UNIQUE,
    public_key bytea NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    acknowledged_us bigint NOT NULL DEFAULT 0,
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- One row per node index. A write commits only while its row is online with the writer's own
-- session (fencing); heartbeat_at is database time, so offline marking ignores process clocks.
CREATE TABLE sequencer_watermarks (
    node_index int PRIMARY KEY,
    watermark_us bigint NOT NULL DEFAULT 0,
    online boolean NOT NULL DEFAULT false,
    session uuid,
    heartbeat_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One row per sequenced submission; recipients are member numbers (the sender included, for
-- its receipt); payload is a StoredBatch proto, null for a deliver-error.
CREATE TABLE sequencer_events (
    ts bigint PRIMARY KEY,
    node_index int NOT NULL,
    sender int NOT NULL,
    message_id text NOT NULL,
    recipients int[] NOT NULL,
    payload bytea,
    error_id text,
    error_reason text
);
CREATE INDEX sequencer_events_by_recipient ON sequencer_events USING gin (recipients);
CREATE INDEX sequencer_events_by_node ON sequencer_events (node_index, ts);

CREATE TABLE sequencer_send_dedup (
    sender int NOT NULL,
    message_id text NOT NULL,
    max_sequencing_time_us bigint NOT NULL,
    ts bigint NOT NULL,
    node_index int NOT NULL,
    PRIMARY KEY (sender, message_id)
);
CREATE INDEX sequencer_send_dedup_by_node ON sequencer_send_dedup (node_index, ts);
CREATE INDEX sequencer_send_dedup_by_expiry ON sequencer_send_dedup (max_sequencing_time_us);

-- (member, counter, ts of that member's event): where counting resumes, and what pruning keeps.
CREATE TABLE sequencer_counter_checkpoints (
    member int NOT NULL,
    counter bigint NOT NULL,
    ts bigint NOT NULL,
    PRIMARY KEY (member, counter)
);

CREATE TABLE sequencer_auth_challenges (
    nonce bytea PRIMARY KEY,
    member text NOT NULL,
    expires_at_us bigint NOT NULL
);

CREATE TABLE sequencer_auth_tokens (
    token_hash bytea PRIMARY KEY,
    member text NOT NULL,
    expires_at_us bigint NOT NULL
);
CREATE INDEX sequencer_auth_tokens_by_member ON sequencer_auth_tokens (member);

-- One round trip per write batch: fence, deduplicate, insert, move the watermark, notify.
-- Raises SQLSTATE MC001 when the instance is not online with p_session (nothing is written).
-- Returns the timestamps written; the others were duplicates of a (sender, message id) still
-- within its max sequencing time.
CREATE FUNCTION sequencer_write(
    p_node int, p_session uuid, p_watermark bigint, p_now bigint,
    p_ts bigint[], p_sender int[], p_message_id text[], p_mst bigint[],
    p_recipients text[], p_payload bytea[], p_error_id text[], p_error_reason text[]
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    accepted bigint[] := '{}';
BEGIN
    PERFORM 1 FROM sequencer_watermarks
        WHERE node_index = p_node AND session = p_session AND online FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sequencer node % is not online with this session', p_node
            USING ERRCODE = 'MC001';
    END IF;
    IF cardinality(p_ts) > 0 THEN
        WITH input AS (
            SELECT * FROM unnest(p_ts, p_sender, p_message_id, p_mst, p_recipients, p_payload,
                                 p_error_id, p_error_reason)
                AS u(ts, sender, message_id, mst, recipients, payload, error_id, error_reason)
        ), fresh AS (
            INSERT INTO sequencer_send_dedup AS d
                (sender, message_id, max_sequencing_time_us, ts, node_index)
            SELECT sender, message_id, mst, ts, p_node FROM input
            ON CONFLICT (sender, message_id) DO UPDATE
                SET max_sequencing_time_us = excluded.max_sequencing_time_us,
                    ts = excluded.ts, node_index = excluded.node_index
                WHERE d.max_sequencing_time_us < p_now
            RETURNING d.ts
        ), written AS (
            INSERT INTO sequencer_events
                (ts, node_index, sender, message_id, recipients, payload, error_id, error_reason)
            SELECT i.ts, p_node, i.sender, i.message_id, i.recipients::int[], i.payload,
                   i.error_id, i.error_reason
            FROM input i JOIN fresh f ON f.ts = i.ts
            RETURNING ts
        )
        SELECT coalesce(array_agg(ts), '{}') INTO accepted FROM written;
    END IF;
    UPDATE sequencer_watermarks SET watermark_us = p_watermark, heartbeat_at = clock_timestamp()
        WHERE node_index = p_node;
    PERFORM pg_notify('sequencer_events', p_node || ':' || p_watermark || ':' ||
                      CASE WHEN cardinality(accepted) > 0 THEN 'E' ELSE 'K' END);
    RETURN accepted;
END $$;
