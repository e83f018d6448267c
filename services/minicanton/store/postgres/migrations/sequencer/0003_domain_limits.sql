-- The domain's maximum request size (a domain parameter), set by the topology manager through
-- the admin API and shared by every instance; NULL until it was set once.
ALTER TABLE sequencer_settings ADD COLUMN max_request_size_bytes bigint
    CHECK (max_request_size_bytes IS NULL OR max_request_size_bytes > 0);
