"""Use cases: each takes a Context (settings, database, drivers) and does one job."""
