"""The topology manager process (issue 4): `python -m minicanton.topology --config FILE`."""
