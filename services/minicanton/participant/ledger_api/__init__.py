"""The participant's gRPC Ledger API (Daml's com.daml.ledger.api.v1 subset).

Start it with `server.start_ledger_api_server`; the node provides a `backend.LedgerApiBackend`
(read side on the participant store) and a `backend.CommandSubmitter` (the protocol pipeline).
"""
