"""Delivering reports on schedule: the reporting tables, validation, the e-mail, exactly-once sending.

- :mod:`~meridian.delivery.schema` the tables delivery needs (the ``reporting`` schema is a warehouse object:
  :mod:`meridian.warehouse.reporting`) and the demo schedules;
- :mod:`~meridian.delivery.validate` a scheduled report as read, its validation, the result of a period;
- :mod:`~meridian.delivery.ledger` the delivery's rows (claim, hand-over, sent, failed) and the schedule;
- :mod:`~meridian.delivery.message` the report e-mail (the SMTP transport is :mod:`meridian.smtp`);
- :mod:`~meridian.delivery.deliver` ``deliver_due_reports``: exactly once per (report, period);
- :mod:`~meridian.delivery.manage` and :mod:`~meridian.delivery.adhoc` ``meridian reports``: create, list,
  pause and resume; run now, resolve, render ad hoc.

This package depends on :mod:`meridian.reports` (report types, data, renderers);
nothing in :mod:`meridian.reports` imports it.
"""
