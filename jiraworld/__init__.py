"""Synthetic Jira worlds for the demo, the tests and the benchmarks: a throwaway PostgreSQL with
the real Jira 8.3 schema (``pgcluster``), attachment rows and a matching tree with known faults
(``world``), and slow or failing storage to run them on (``slowstorage``).

Shipped beside the ``inspector`` package, never imported by a scan.
"""
