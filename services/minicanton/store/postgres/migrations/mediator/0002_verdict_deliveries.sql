-- Each recipient of a verdict gets its own signed copy (core/protocol/verdict_disclosure.py):
-- the submitter the full verdict (still in `result`, the audit log's), the others only what
-- their views showed them. `deliveries[i]` is the encoded MediatorResult sent to
-- `recipients[i]`; the outbox resends exactly these bytes.
ALTER TABLE mediator_verdicts ADD COLUMN deliveries bytea[] NOT NULL DEFAULT '{}';

-- A verdict stored before this migration and not yet sent has no per-recipient copies; it is
-- not resent (that would send the full verdict to every recipient). Its participants fall
-- back to their own timeout at the decision time.
UPDATE mediator_verdicts SET send_error = 'not resent: stored before per-recipient verdicts'
WHERE sent_ts IS NULL AND send_error IS NULL;
