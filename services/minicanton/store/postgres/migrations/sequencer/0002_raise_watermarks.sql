-- A write that stores events also raises the watermark of every other online instance that is
-- not writing right now (docs/adr/0007, "Writes raise idle instances"). Readers deliver up to
-- the lowest online watermark, so without this every event waited for the other instances to
-- commit a keep-alive above it: one more fsync and two NOTIFY hops per event.
--
-- The raised watermark is a floor for that instance: it must never commit an event at or below
-- it again. Its own next write may carry timestamps it stamped before the raise; those are
-- shifted up by a multiple of the node count (their residue class stays theirs) when no event
-- of the batch would pass its max sequencing time by that and none is a deliver-error (whose
-- reason names its timestamp); otherwise the write is refused with SQLSTATE MC002 and the
-- writer stamps the batch again. A watermark never moves down (greatest()).

CREATE FUNCTION sequencer_write_raising(
    p_node int, p_session uuid, p_watermark bigint, p_now bigint, p_total_nodes int,
    p_ts bigint[], p_sender int[], p_message_id text[], p_mst bigint[],
    p_recipients text[], p_payload bytea[], p_error_id text[], p_error_reason text[]
) RETURNS TABLE (written bigint[], shift_us bigint, watermark_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_floor bigint;
    v_shift bigint := 0;
    v_watermark bigint;
    v_accepted bigint[] := '{}';
    v_waiting int := 0;
BEGIN
    SELECT w.watermark_us INTO v_floor FROM sequencer_watermarks w
        WHERE w.node_index = p_node AND w.session = p_session AND w.online FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sequencer node % is not online with this session', p_node
            USING ERRCODE = 'MC001';
    END IF;
    IF cardinality(p_ts) > 0 AND p_ts[1] <= v_floor THEN
        v_shift := ((v_floor - p_ts[1]) / p_total_nodes + 1) * p_total_nodes;
        IF EXISTS (SELECT 1 FROM unnest(p_ts, p_mst, p_error_id) AS u(ts, mst, error_id)
                   WHERE u.error_id IS NOT NULL OR u.ts + v_shift > u.mst) THEN
            RAISE EXCEPTION 'timestamps at or below the watermark %', v_floor
                USING ERRCODE = 'MC002', DETAIL = v_floor::text;
        END IF;
        p_ts := ARRAY(SELECT u.ts + v_shift FROM unnest(p_ts) WITH ORDINALITY AS u(ts, n)
                      ORDER BY u.n);
    END IF;
    v_watermark := greatest(v_floor, p_watermark + v_shift);
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
        ), stored AS (
            INSERT INTO sequencer_events
                (ts, node_index, sender, message_id, recipients, payload, error_id, error_reason)
            SELECT i.ts, p_node, i.sender, i.message_id, i.recipients::int[], i.payload,
                   i.error_id, i.error_reason
            FROM input i JOIN fresh f ON f.ts = i.ts
            RETURNING ts
        )
        SELECT coalesce(array_agg(ts), '{}') INTO v_accepted FROM stored;
    END IF;
    UPDATE sequencer_watermarks SET watermark_us = v_watermark, heartbeat_at = clock_timestamp()
        WHERE node_index = p_node;
    IF cardinality(v_accepted) > 0 THEN
        -- SKIP LOCKED: an instance in the middle of its own write keeps its watermark (it
        -- moves it itself when the NOTIFY below says 'E'); this write never waits for it.
        UPDATE sequencer_watermarks w SET watermark_us = v_watermark
            FROM (SELECT o.node_index FROM sequencer_watermarks o
                  WHERE o.node_index <> p_node AND o.online AND o.watermark_us < v_watermark
                  FOR UPDATE SKIP LOCKED) raised
            WHERE w.node_index = raised.node_index;
        SELECT count(*) INTO v_waiting FROM sequencer_watermarks o
            WHERE o.node_index <> p_node AND o.online AND o.watermark_us < v_watermark;
    END IF;
    -- 'K' keep-alive, 'R' events and every other online instance raised, 'E' events that
    -- still wait for some instance to move its watermark.
    PERFORM pg_notify('sequencer_events', p_node || ':' || v_watermark || ':' ||
                      CASE WHEN cardinality(v_accepted) = 0 THEN 'K'
                           WHEN v_waiting > 0 THEN 'E' ELSE 'R' END);
    RETURN QUERY SELECT v_accepted, v_shift, v_watermark;
END $$;

-- The original write, for an instance still running the previous release during a rolling
-- upgrade: it must not commit below a watermark another instance raised, so stale timestamps
-- fence it (MC001: it recovers and rejoins above every watermark), and a keep-alive never
-- lowers its watermark.
CREATE OR REPLACE FUNCTION sequencer_write(
    p_node int, p_session uuid, p_watermark bigint, p_now bigint,
    p_ts bigint[], p_sender int[], p_message_id text[], p_mst bigint[],
    p_recipients text[], p_payload bytea[], p_error_id text[], p_error_reason text[]
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    v_floor bigint;
    accepted bigint[] := '{}';
BEGIN
    SELECT w.watermark_us INTO v_floor FROM sequencer_watermarks w
        WHERE w.node_index = p_node AND w.session = p_session AND w.online FOR UPDATE;
    IF NOT FOUND OR (cardinality(p_ts) > 0 AND p_ts[1] <= v_floor) THEN
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
    UPDATE sequencer_watermarks
        SET watermark_us = greatest(watermark_us, p_watermark), heartbeat_at = clock_timestamp()
        WHERE node_index = p_node;
    PERFORM pg_notify('sequencer_events', p_node || ':' || p_watermark || ':' ||
                      CASE WHEN cardinality(accepted) > 0 THEN 'E' ELSE 'K' END);
    RETURN accepted;
END $$;
