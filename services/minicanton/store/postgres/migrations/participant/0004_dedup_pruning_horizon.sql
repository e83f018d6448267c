-- One row: the pruning horizon of command deduplication, the highest completion offset of a
-- command_dedup entry expired so far ('' = ledger begin, nothing pruned). A deduplication
-- period given as an offset before it cannot be honoured (the entry that would make the
-- submission a duplicate may be gone) and is refused with INVALID_DEDUPLICATION_PERIOD. Kept
-- apart from ledger_state so that expiry never waits on, or deadlocks with, event writes.
CREATE TABLE command_dedup_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_up_to text    NOT NULL DEFAULT ''
);
INSERT INTO command_dedup_state DEFAULT VALUES;
