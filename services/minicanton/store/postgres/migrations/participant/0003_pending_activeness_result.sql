-- The activeness result of each request awaiting its verdict, kept beside its locks: after a
-- restart a replayed request must get the answer it got before (a rejected request stays
-- rejected), not one invented from the locks alone. JSON with sorted keys, written by
-- store/participant_store.py `encode_activeness_result`. NULL for rows written before: the
-- conflict detector refuses to replay those rather than guess.
ALTER TABLE pending_requests ADD COLUMN activeness_result jsonb;
