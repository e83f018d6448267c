"""Protobuf <-> core dataclasses; the only importer of generated code (DESIGN.md §5)."""
