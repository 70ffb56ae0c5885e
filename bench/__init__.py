"""The benchmark harness: ``make bench`` (or ``python -m bench``) measures Catalog against hello."""
