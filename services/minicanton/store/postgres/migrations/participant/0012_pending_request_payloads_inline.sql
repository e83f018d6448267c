-- A pending request (~3.8 KB of mostly ciphertext payload under benchmark (a)) is inserted
-- when validated and deleted at its verdict; its payload is read only after a restart. Out of
-- line (0010), each one cost a TOAST heap and TOAST index insert, and its delete a TOAST index
-- look-up and the chunks' deletes. toast_tuple_target = 8160 (the largest allowed) keeps a row
-- up to ~8 KB in its heap page; a larger one still goes out of line uncompressed (EXTERNAL,
-- 0010). In-flight submissions keep theirs out of line: each is updated once, and an inline
-- row would be copied whole (measured: no better). Storage only: the same bytes read back;
-- rows already stored stay where they are.
ALTER TABLE pending_requests SET (toast_tuple_target = 8160);
