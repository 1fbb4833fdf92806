"""The demo's data (SPEC O1): the seeded cast and lines (seeding.py, ``manage.py
seed_demo``, run by ``manage.py demo``) and realistic Talk history for the dashboard
and its benchmark (history.py, ``manage.py seed_history``). It builds on every other
app; none imports it."""
