"""How a report's figures are read from the marts and shaped per section; :mod:`meridian.reports.data` is its API."""
