-- The row shape in which `record_events` passes a batch's verdicts as one array parameter
-- (unnest($n::mediator_verdict_input[])): a verdict holds arrays itself (recipients,
-- deliveries), which parallel column arrays cannot carry. Writing a whole batch of events
-- in one statement saves about ten round trips per batch (store/postgres/mediator_store.py).
CREATE TYPE mediator_verdict_input AS (
    request_ts bigint,
    decided_ts bigint,
    message_id text,
    recipients text[],
    max_sequencing_time_us bigint,
    verdict text,
    result bytea,
    deliveries bytea[],
    sent_ts bigint,  -- set when the receipt is in the same batch as the verdict
    send_error text
);
