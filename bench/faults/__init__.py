"""Fault drills (issue 11, item 6): processes, PostgreSQL and Redis failing under load.

Run them all with ``.venv/bin/python bench/faults/run.py [--quick] [--only NAME]``.
"""
