"""asyncpg implementations of the store interfaces, with their SQL migrations."""
