"""Benchmarks of the product, outside its code paths: only ``meridian.cli`` imports this package.

- :mod:`~meridian.devtools.bench` ``meridian bench``: extract rows/s, dbt build and DAG chain seconds;
- :mod:`~meridian.devtools.bench_api` and :mod:`~meridian.devtools.bench_dashboard` the KPI read API's
  latency and throughput, and its statements per dashboard;
- :mod:`~meridian.devtools.bench_proc` a command's wall time and the peak memory of its process tree;
- :mod:`~meridian.devtools.bench_result` and :mod:`~meridian.devtools.bench_readme` the figures as JSON
  and the README block made from them;
- :mod:`~meridian.devtools.bench_reports` times the comprehensive report in every format;
- :mod:`~meridian.devtools.bench_delivery` delivers the due reports of many tenants (copies of one).

They run on the demo data (:mod:`meridian.demo`); ``meridian bench`` imports them on demand.
"""
