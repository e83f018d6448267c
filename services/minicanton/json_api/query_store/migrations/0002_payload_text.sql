-- PostgreSQL's jsonb cannot hold the character U+0000, which a Daml Text may contain. Such a
-- payload (or key) is kept as JSON text instead, with the jsonb column NULL; queries read
-- those rows back and match them in Python with the same query language.
ALTER TABLE contract ADD COLUMN payload_text text, ADD COLUMN key_text text;
