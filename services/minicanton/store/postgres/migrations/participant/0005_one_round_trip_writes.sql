-- The participant's two hot writes as one statement each (one network round trip instead of
-- six to fifteen): the effects of a batch of sequenced events, and the start of a submission.
-- The Python store (postgres/participant_store.py) keeps the statement-by-statement path for
-- the rare cases these functions decline, and decides everything the functions do not.

CREATE TYPE participant_transaction_row AS (
    ledger_offset text, transaction_id text, command_id text, workflow_id text,
    application_id text, submitters text[], ledger_time_us bigint, record_time_us bigint
);
CREATE TYPE participant_event_row AS (
    ledger_offset text, node_id integer, parent_node_id integer, kind text, contract_id text,
    template_id text, consuming boolean, payload bytea
);
CREATE TYPE participant_witness_row AS (
    ledger_offset text, node_id integer, party text, flat boolean
);
-- Contract changes in the order they happen: per transaction, archives before creates (a
-- transaction may archive a keyed contract and create its successor with the same key, and
-- the unique key index must see the archive first), then divulged contracts.
CREATE TYPE participant_contract_change AS (
    step integer, kind text, ledger_offset text, contract_id text, template_id text,
    signatories text[], stakeholders text[], key_hash text, payload bytea,
    ledger_time_us bigint, party text
);
CREATE TYPE participant_completion_row AS (
    ledger_offset text, application_id text, act_as text[], command_id text,
    submission_id text, transaction_id text, status_code integer, error_id text,
    message text, record_time_us bigint, change_key text
);
CREATE TYPE participant_pending_row AS (
    request_id text, request_ts_us bigint, decision_time_us bigint, locked_contracts text[],
    locked_keys text[], payload bytea, activeness_result text
);
CREATE TYPE participant_sequenced_row AS (
    change_key text, request_id text, sequenced_at_us bigint
);
CREATE TYPE participant_topology_row AS (
    sequenced_ts_us bigint, position integer, effective_from_us bigint, payload bytea
);

-- Writes the effects of events up to sequencer counter p_counter with the offsets the caller
-- numbered from p_expected_end, in one transaction (the caller's statement), and answers:
--   'applied'   : done;
--   'replay'    : the clean position is at or past p_counter already, nothing written;
--   'stale'     : the ledger end is not p_expected_end, nothing written;
--   'duplicate' : a transaction id is already in the ledger, nothing written.
-- The caller takes the statement-by-statement path for the last two.
CREATE FUNCTION participant_apply_event(
    p_counter bigint, p_ts_us bigint, p_expected_end bigint, p_new_end bigint,
    p_transactions participant_transaction_row[], p_events participant_event_row[],
    p_witnesses participant_witness_row[], p_contracts participant_contract_change[],
    p_completions participant_completion_row[], p_dedup participant_completion_row[],
    p_pending_added participant_pending_row[], p_pending_removed text[],
    p_sequenced participant_sequenced_row[], p_topology participant_topology_row[]
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state record;
    last_step integer;
BEGIN
    SELECT ledger_end_counter, sequencer_counter INTO state FROM ledger_state FOR UPDATE;
    IF state.sequencer_counter IS NOT NULL AND p_counter <= state.sequencer_counter THEN
        RETURN 'replay';
    END IF;
    IF state.ledger_end_counter <> p_expected_end THEN
        RETURN 'stale';
    END IF;
    IF cardinality(p_transactions) > 0 AND EXISTS (
        SELECT 1 FROM transactions
        WHERE transaction_id IN (SELECT transaction_id FROM unnest(p_transactions))
    ) THEN
        RETURN 'duplicate';
    END IF;
    IF cardinality(p_transactions) > 0 THEN
        INSERT INTO transactions (ledger_offset, transaction_id, command_id, workflow_id,
                                  application_id, submitters, ledger_time_us, record_time_us)
            SELECT * FROM unnest(p_transactions);
        INSERT INTO events (ledger_offset, node_id, parent_node_id, kind, contract_id,
                            template_id, consuming, payload)
            SELECT * FROM unnest(p_events);
        INSERT INTO event_witnesses (ledger_offset, node_id, party, flat)
            SELECT * FROM unnest(p_witnesses);
    END IF;
    IF cardinality(p_contracts) > 0 THEN
        SELECT max(step) INTO last_step FROM unnest(p_contracts);
        FOR current_step IN 0 .. last_step LOOP
            UPDATE contracts c SET archived_at_offset = a.ledger_offset
                FROM unnest(p_contracts) a
                WHERE a.step = current_step AND a.kind = 'archive'
                  AND c.contract_id = a.contract_id AND c.archived_at_offset IS NULL;
            INSERT INTO contracts (contract_id, template_id, signatories, stakeholders,
                                   key_hash, payload, ledger_time_us, created_at_offset)
                SELECT contract_id, template_id, signatories, stakeholders, key_hash,
                       payload, ledger_time_us, ledger_offset
                FROM unnest(p_contracts) WHERE step = current_step AND kind = 'create';
            INSERT INTO divulged_contracts (contract_id, party, template_id, payload,
                                            ledger_time_us, divulged_at_offset)
                SELECT contract_id, party, template_id, payload, ledger_time_us, ledger_offset
                FROM unnest(p_contracts) WHERE step = current_step AND kind = 'divulge'
                ON CONFLICT (contract_id, party) DO NOTHING;
        END LOOP;
    END IF;
    IF cardinality(p_completions) > 0 THEN
        INSERT INTO completions (ledger_offset, application_id, act_as, command_id,
                                 submission_id, transaction_id, status_code, error_id,
                                 message, record_time_us)
            SELECT ledger_offset, application_id, act_as, command_id, submission_id,
                   transaction_id, status_code, error_id, message, record_time_us
            FROM unnest(p_completions);
        DELETE FROM in_flight_submissions
            WHERE change_key IN (SELECT change_key FROM unnest(p_completions)
                                 WHERE change_key IS NOT NULL);
        -- p_dedup: the accepted completions, one per change key (the last one)
        INSERT INTO command_dedup (change_key, submission_id, completion_offset,
                                   record_time_us)
            SELECT change_key, submission_id, ledger_offset, record_time_us
            FROM unnest(p_dedup)
            ON CONFLICT (change_key) DO UPDATE SET submission_id = excluded.submission_id,
                completion_offset = excluded.completion_offset,
                record_time_us = excluded.record_time_us;
    END IF;
    IF cardinality(p_pending_added) > 0 THEN
        INSERT INTO pending_requests (request_id, request_ts_us, decision_time_us,
                                      locked_contracts, locked_keys, payload, activeness_result)
            SELECT request_id, request_ts_us, decision_time_us, locked_contracts, locked_keys,
                   payload, activeness_result::jsonb
            FROM unnest(p_pending_added);
    END IF;
    IF cardinality(p_pending_removed) > 0 THEN
        DELETE FROM pending_requests WHERE request_id = ANY (p_pending_removed);
    END IF;
    IF cardinality(p_sequenced) > 0 THEN
        UPDATE in_flight_submissions f SET request_id = s.request_id,
                                           sequenced_at_us = s.sequenced_at_us
            FROM unnest(p_sequenced) s WHERE f.change_key = s.change_key;
    END IF;
    IF cardinality(p_topology) > 0 THEN
        INSERT INTO topology_transactions (sequenced_ts_us, position, effective_from_us,
                                           payload)
            SELECT * FROM unnest(p_topology);
    END IF;
    UPDATE ledger_state SET ledger_end_counter = p_new_end, sequencer_counter = p_counter,
                            sequencer_ts_us = p_ts_us;
    RETURN 'applied';
END;
$$;

-- Starts a submission when that needs no decision: under the change's advisory lock (held
-- until the caller's statement commits), if the change is neither in flight nor accepted
-- before, records it in flight and answers true. Otherwise writes nothing and answers false
-- with what the store holds for the change; the caller decides (check_deduplication) and, if
-- the submission is not a duplicate after all, takes the statement-by-statement path.
CREATE FUNCTION participant_start_submission(
    p_change_key text, p_application_id text, p_command_id text, p_act_as text[],
    p_submission_id text, p_message_id text, p_max_sequencing_time_us bigint, p_payload bytea,
    OUT started boolean,
    OUT in_flight_submission_id text, OUT in_flight_max_sequencing_time_us bigint,
    OUT in_flight_sequenced_at_us bigint,
    OUT accepted_submission_id text, OUT accepted_completion_offset text,
    OUT accepted_record_time_us bigint, OUT pruned_up_to text
) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_change_key, 0));
    -- each statement below takes its own snapshot, after the lock was granted
    SELECT f.submission_id, f.max_sequencing_time_us, f.sequenced_at_us
        INTO in_flight_submission_id, in_flight_max_sequencing_time_us,
             in_flight_sequenced_at_us
        FROM in_flight_submissions f WHERE f.change_key = p_change_key;
    SELECT d.submission_id, d.completion_offset, d.record_time_us
        INTO accepted_submission_id, accepted_completion_offset, accepted_record_time_us
        FROM command_dedup d WHERE d.change_key = p_change_key;
    SELECT s.pruned_up_to INTO pruned_up_to FROM command_dedup_state s;
    started := in_flight_submission_id IS NULL AND accepted_submission_id IS NULL;
    IF started THEN
        INSERT INTO in_flight_submissions (change_key, application_id, command_id, act_as,
                                           submission_id, message_id,
                                           max_sequencing_time_us, payload)
            VALUES (p_change_key, p_application_id, p_command_id, p_act_as,
                    p_submission_id, p_message_id, p_max_sequencing_time_us, p_payload);
    END IF;
END;
$$;
