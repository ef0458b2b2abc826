"""Benchmarks of the product, outside its code paths: nothing in the product imports this package.

- :mod:`~meridian.devtools.bench_reports` times the comprehensive report in every format;
- :mod:`~meridian.devtools.bench_delivery` delivers the due reports of many tenants (copies of one).

``meridian bench`` imports them on demand.
"""
