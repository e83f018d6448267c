"""The `minicanton` command."""
