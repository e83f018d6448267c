"""The HTTP JSON API: Daml's JSON API v1 over one participant's gRPC Ledger API."""
