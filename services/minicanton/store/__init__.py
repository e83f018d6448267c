"""Store interfaces and their PostgreSQL implementations (store/postgres/)."""
