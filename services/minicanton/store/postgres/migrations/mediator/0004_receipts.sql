-- The receipt of a verdict send (the timestamp of our own event that sequenced it) in a narrow
-- table of its own. It was `mediator_verdicts.sent_ts`, set by an UPDATE one event after the
-- row was written: every request rewrote its ~1 KB verdict row (a new row version, most of
-- them with new entries in both of the table's indexes, and a dead row for vacuum). A receipt
-- is now one small insert. Verdicts with no receipt and no send error are the outbox.
CREATE TABLE mediator_receipts (
    message_id text PRIMARY KEY,
    sent_ts bigint NOT NULL
);
INSERT INTO mediator_receipts (message_id, sent_ts)
SELECT message_id, sent_ts FROM mediator_verdicts WHERE sent_ts IS NOT NULL;
ALTER TABLE mediator_verdicts DROP COLUMN sent_ts;
ALTER TYPE mediator_verdict_input DROP ATTRIBUTE sent_ts;
