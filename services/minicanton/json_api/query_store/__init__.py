"""The query store: a rebuildable PostgreSQL cache of active contracts that several JSON API
instances of one participant may share (store.py), filled from the ledger (catch_up.py)."""
