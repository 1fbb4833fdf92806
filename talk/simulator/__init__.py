"""The call simulator (SPEC O1): see engine.py."""
