-- Event payloads are mostly ciphertext (the confirmation request of benchmark (a) is ~4.4 KB,
-- a third of the events): pglz never shrank them, yet every row over ~2 KB was compressed
-- first and then moved out of line at its raw size: a compression attempt, a TOAST heap and
-- TOAST index insert per such event on write, and a TOAST index look-up per such event on
-- every read (each instance reads every event). toast_tuple_target = 8160 (the largest
-- allowed) keeps a row up to ~8 KB in its heap page; EXTERNAL stores a larger one out of line
-- without trying to compress it. In a micro-benchmark of (a)'s three events written and read
-- twice, the server's CPU went from 119 to 86 us per transaction (min of 40 rounds).
-- Storage only: the same bytes read back; rows already stored stay where they are.
ALTER TABLE sequencer_events ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE sequencer_events SET (toast_tuple_target = 8160);
