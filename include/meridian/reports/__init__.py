"""Scheduled reports: what each report type reads, how it renders, how it is delivered.

Modules, smallest first:

- :mod:`~meridian.reports.registry` report types as data (sections, the marts and
  columns each reads, parameters) and the known formats and frequencies;
- :mod:`~meridian.reports.periods` the period a due report covers and the next due time;
- :mod:`~meridian.reports.schema` the ``reporting`` schema and demo schedules;
- :mod:`~meridian.reports.data` reads the marts for one tenant and period;
- :mod:`~meridian.reports.summary` numbers as people read them (tiles, changes), shared by PDF and mail;
- :mod:`~meridian.reports.render` the format registry; :mod:`~meridian.reports.render_pdf` (reportlab)
  and :mod:`~meridian.reports.render_csv` write one file each into a folder;
- :mod:`~meridian.reports.mail` the SMTP connection, the message, sending with retries;
- :mod:`~meridian.reports.delivery` ``deliver_due_reports``: exactly once per (report, period).

Nothing here is imported by this ``__init__``, so importing one module does
not pull in reportlab or psycopg2.
"""
