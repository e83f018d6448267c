"""minicanton: a faithful mini version of the Canton ledger synchronization protocol."""

from minicanton import _native

# Before any core module is imported: the compiled core if it was built from exactly these
# sources, else the pure one (docs/adr/0016-compiled-core.md).
_native.install()
