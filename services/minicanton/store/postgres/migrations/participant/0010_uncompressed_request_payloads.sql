-- The payloads of in-flight submissions (the request batch, ~4.5 KB under benchmark (a)) and
-- of pending requests (~3.8 KB) are mostly ciphertext: PostgreSQL's pglz never shrinks them,
-- yet each row over ~2 KB was compressed first and stored as it was after all (the stored
-- size equals the raw size). That attempt was ~5% of the server's CPU in the batch write
-- (perf of the backend). EXTERNAL stores them out of line, as before, without trying to
-- compress them. Storage only: the values read back are the same bytes; existing rows stay
-- as they are.
ALTER TABLE in_flight_submissions ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE pending_requests ALTER COLUMN payload SET STORAGE EXTERNAL;
