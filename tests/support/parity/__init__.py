"""The differential harness: the published datasette-files 0.1a3 (the
reference) and ours, each a bare plugin under ``datasette serve`` with the same
configuration, sent the same requests; what differs is compared with the
differences plugins/datasette-files/COMPATIBILITY.md lists.

``servers`` starts the pair, ``scenario`` is the request sequence, ``diff``
compares two answers, ``ledger`` reads COMPATIBILITY.md, ``run`` ties them
together (bench/compat.py and tests/compat use it)."""
