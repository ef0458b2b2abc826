"""Reports: what each report type reads and how it is laid out, and one renderer per format.

Modules, data first:

- :mod:`~meridian.reports.model` what a report type is made of (sections, the
  marts they read, section kinds, value kinds, aggregations);
- :mod:`~meridian.reports.types` one module per report type, as data;
  :mod:`~meridian.reports.registry` the catalogue of them (``REPORT_TYPES``);
- :mod:`~meridian.reports.periods` the period a due report covers and the next due time;
- :mod:`~meridian.reports.data` reads the marts for one tenant and period and shapes each section;
- :mod:`~meridian.reports.summary` numbers as people read them (tiles, changes, typed tables), shared by
  every format;
- :mod:`~meridian.reports.render` the format registry and one renderer per format (``pdf``, ``csv``,
  ``xlsx``, ``html``), each generic over the section kinds and knowing no report type.

Scheduling, the reporting tables and mail are :mod:`meridian.delivery`, which
depends on this package (never the other way round); the benchmarks of both
are :mod:`meridian.devtools`.

Nothing here is imported by this ``__init__``, so importing one module does
not pull in reportlab or psycopg2.
"""
