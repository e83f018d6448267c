"""The topology every member keeps (DESIGN.md §3 Topology), pure and deterministic.

- `parameters`: `DomainParameters` (timeouts, tolerance, topology change delay, …).
- `mappings`: the facts (keys, participant state, party hosting, mediators, sequencers,
  vetted packages, parameters, namespace delegations), each with a unique key.
- `transactions`: REPLACE/REMOVE with a serial, canonical bytes, hash, signatures, broadcasts.
- `validation`: who must sign what; forged or tampered transactions are refused.
- `state`: `TopologyState.accept(signed, sequenced_us)`; effective times; `snapshot(t_us)`.
- `snapshot`: `TopologySnapshot`, the queries protocol code asks "as of t".
"""
