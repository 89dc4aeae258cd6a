"""`make bench`: load the real server, with PostgreSQL and with in-memory storage, side by side.

Absolute figures on a shared machine are noise; the report leans on ratios taken in the same run:
each scenario's throughput against the ``/health`` baseline of the same server, and PostgreSQL
against memory storage per scenario.
"""
