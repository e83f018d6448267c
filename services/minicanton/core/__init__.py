"""The pure protocol core.

Nothing under this package performs I/O, reads a clock, or draws randomness on its own:
time and entropy arrive as arguments (see `entropy.Entropy`), so a seeded run reproduces
bit for bit. It must never import asyncio, grpc, asyncpg, time, random or os
(`tests/unit/test_core_purity.py` enforces this).
"""
