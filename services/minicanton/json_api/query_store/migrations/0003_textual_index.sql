-- Queries ask for "matches in jsonb OR kept as text" per template; with this index both
-- halves are index scans (the jsonb half through the GIN index on payload).
CREATE INDEX contract_active_textual ON contract (template_id)
    WHERE NOT archived AND payload IS NULL;
