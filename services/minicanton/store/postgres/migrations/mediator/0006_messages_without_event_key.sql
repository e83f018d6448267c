-- The audit index no longer has a foreign key to the events. Its only writer is
-- `record_events`' single statement (store/postgres/mediator_store.py, `_RECORD`), which builds
-- each event's index rows from that event and inserts both under the same condition (the
-- event's timestamp after the stored clean position): every row it writes names an event the
-- same statement writes, or the statement fails as a whole, and nothing deletes events. The
-- key's check cost one `SELECT ... FOR KEY SHARE` of the event row per envelope, four per
-- transaction of benchmark (a), each locking a row the statement had just inserted (a heap
-- write and WAL of its own). tests/integration/mediator/test_mediator_store.py checks that
-- every indexed message still finds its event.
ALTER TABLE mediator_messages DROP CONSTRAINT IF EXISTS mediator_messages_ts_fkey;
