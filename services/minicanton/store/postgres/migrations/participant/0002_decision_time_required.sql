-- Every confirmation request awaiting its verdict has a decision time: past it the request has
-- timed out and its locks are released. A row without one (only a shell bug could write it)
-- would hold its contracts locked for ever, so it is now refused. Rows written before take
-- their request time: they time out with the next sequenced event instead of never.
UPDATE pending_requests SET decision_time_us = request_ts_us
    WHERE decision_time_us IS NULL OR decision_time_us < request_ts_us;
ALTER TABLE pending_requests ALTER COLUMN decision_time_us SET NOT NULL;
ALTER TABLE pending_requests ADD CONSTRAINT pending_requests_decided_after_request
    CHECK (decision_time_us >= request_ts_us);
