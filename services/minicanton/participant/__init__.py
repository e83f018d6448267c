"""The participant node: `python -m minicanton.participant --config FILE`."""
