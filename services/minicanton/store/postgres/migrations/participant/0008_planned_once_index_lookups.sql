-- participant_apply_event and the activeness lookups (0006) with static statements again, and
-- `SET enable_seqscan = off` on each function instead of EXECUTE. 0006 planned every lookup
-- at each call so that a plan made while the ledger was small (a sequential scan) could not
-- outlive it; planning each call costs about 35 us of server CPU per statement, several per
-- batch write. With sequential scans off inside these functions, the plan PL/pgSQL caches per
-- connection is an index lookup from the first call on, whatever the tables' size or dead
-- pages, and it is made once. Every lookup here has an index (primary keys, contracts'
-- key_hash); the setting applies inside the functions only.

CREATE OR REPLACE FUNCTION participant_apply_event(
    p_counter bigint, p_ts_us bigint, p_expected_end bigint, p_new_end bigint,
    p_transactions participant_transaction_row[], p_events participant_event_row[],
    p_witnesses participant_witness_row[], p_contracts participant_contract_change[],
    p_completions participant_completion_row[], p_dedup participant_completion_row[],
    p_pending_added participant_pending_row[], p_pending_removed text[],
    p_sequenced participant_sequenced_row[], p_topology participant_topology_row[]
) RETURNS text LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    state record;
    last_step integer;
    archived text[];
    duplicate boolean;
BEGIN
    SELECT ledger_end_counter, sequencer_counter INTO state FROM ledger_state FOR UPDATE;
    IF state.sequencer_counter IS NOT NULL AND p_counter <= state.sequencer_counter THEN
        RETURN 'replay';
    END IF;
    IF state.ledger_end_counter <> p_expected_end THEN
        RETURN 'stale';
    END IF;
    IF cardinality(p_transactions) > 0 THEN
        SELECT EXISTS (SELECT 1 FROM transactions WHERE transaction_id = ANY (
            ARRAY(SELECT t.transaction_id FROM unnest(p_transactions) t))) INTO duplicate;
        IF duplicate THEN
            RETURN 'duplicate';
        END IF;
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
            archived := ARRAY(SELECT a.contract_id FROM unnest(p_contracts) a
                              WHERE a.step = current_step AND a.kind = 'archive');
            IF cardinality(archived) > 0 THEN
                UPDATE contracts c SET archived_at_offset = a.ledger_offset
                    FROM unnest(p_contracts) a
                    WHERE a.step = current_step AND a.kind = 'archive'
                      AND c.contract_id = ANY (archived) AND c.contract_id = a.contract_id
                      AND c.archived_at_offset IS NULL;
            END IF;
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
        DELETE FROM in_flight_submissions WHERE change_key = ANY (
            ARRAY(SELECT c.change_key FROM unnest(p_completions) c
                  WHERE c.change_key IS NOT NULL));
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
            FROM unnest(p_sequenced) s
            WHERE f.change_key = ANY (ARRAY(SELECT q.change_key FROM unnest(p_sequenced) q))
              AND f.change_key = s.change_key;
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


-- The activeness lookups of `load_states_on`, for the same reason.
CREATE OR REPLACE FUNCTION participant_contract_states(p_contract_ids text[])
RETURNS TABLE (contract_id text, active boolean, key_hash text) LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    RETURN QUERY SELECT c.contract_id, c.archived_at_offset IS NULL, c.key_hash
                 FROM contracts c WHERE c.contract_id = ANY (p_contract_ids);
END;
$$;

CREATE OR REPLACE FUNCTION participant_key_assignments(p_key_hashes text[])
RETURNS TABLE (key_hash text, contract_id text) LANGUAGE plpgsql
SET enable_seqscan = off AS $$
BEGIN
    RETURN QUERY SELECT c.key_hash, c.contract_id FROM contracts c
                 WHERE c.key_hash = ANY (p_key_hashes) AND c.archived_at_offset IS NULL;
END;
$$;
