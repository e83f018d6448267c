"""Benchmarks: `make bench` (python -m bench) prints figures for this machine."""
