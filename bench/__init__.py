"""Benchmarks of the case workflow on a real Temporal dev server.

`python -m bench` runs them all; `python -m bench history`, `python -m bench lag` and
`python -m bench long` run one. Each starts its own dev server and a migrated SQLite
database in a temporary directory, runs its workers in this process, and reports its
figures beside a baseline measured in the same run. See bench/README.md.
"""
