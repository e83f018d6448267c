-- Starts the submissions of one batch in one statement (one round trip, one commit), each as
-- participant_start_submission (0005) does, in the order given, so a later entry for the
-- same change sees an earlier one in flight. The change keys' advisory locks are taken in
-- key order first (the per-entry call takes its own again: advisory locks stack), so two
-- batches never wait on each other in a cycle.
CREATE TYPE participant_start_row AS (
    change_key text, application_id text, command_id text, act_as text[],
    submission_id text, message_id text, max_sequencing_time_us bigint, payload bytea
);

CREATE FUNCTION participant_start_submissions(p_entries participant_start_row[])
RETURNS TABLE (
    entry_index integer, started boolean,
    in_flight_submission_id text, in_flight_max_sequencing_time_us bigint,
    in_flight_sequenced_at_us bigint,
    accepted_submission_id text, accepted_completion_offset text,
    accepted_record_time_us bigint, pruned_up_to text
) LANGUAGE plpgsql AS $$
DECLARE
    i integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(k.change_key, 0))
        FROM (SELECT DISTINCT e.change_key FROM unnest(p_entries) e ORDER BY 1) k;
    FOR i IN 1 .. coalesce(cardinality(p_entries), 0) LOOP
        RETURN QUERY SELECT i, s.* FROM participant_start_submission(
            (p_entries[i]).change_key, (p_entries[i]).application_id,
            (p_entries[i]).command_id, (p_entries[i]).act_as, (p_entries[i]).submission_id,
            (p_entries[i]).message_id, (p_entries[i]).max_sequencing_time_us,
            (p_entries[i]).payload) s;
    END LOOP;
END;
$$;
