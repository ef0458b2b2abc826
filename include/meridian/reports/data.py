"""Read the marts a report type needs, for one tenant and one period, and shape each section.

The work is done in :mod:`meridian.reports.reading`: ``timeline`` (the previous
period, trend buckets), ``figures`` (:class:`ReportData`, :class:`SectionData`:
what a renderer gets), ``aggregate`` (how rows combine), ``read`` (the catalog,
the selects), ``shape`` (per section kind) and ``load`` (a whole report); this
module is their API.

Reads: one catalog query (the columns of every table the report names), then
one ``select ... from <mart> where tenant_id = %s and <period column> between
%s and %s`` per mart (sections sharing a mart share the read), with the table
and column names taken from the registry (quoted as identifiers) and the
values passed as parameters. A table that does not exist yet, or lacks a
column a section needs, makes that section "not available" (with the reason)
instead of failing the report: reports keep going out while the marts are
being built or migrated.

The figures are then combined in Python per section, as
:mod:`meridian.reports.model` describes: the report's period against the
previous period of the same length (:func:`previous_period`), trends by the
report's unit, breakdowns over the period, funnels over the cohort weeks that
overlap the period, retention over the latest cohorts.

The shaping stays in plain Python rather than pandas: the one pivot (the
retention heat-map, cohorts × period numbers) is a dozen lines either way once
pandas' NaN and numpy scalars are turned back into the None, int and Decimal
every renderer expects, the breakdown aggregates (ratio, weighted, share) are
no shorter as groupby calls, and importing pandas (about 0.5 s) would cost as
much as rendering a comprehensive report. pandas serves the ledger export
(meridian.serve.export), where a table goes to CSV or JSON as it is.
"""

from meridian.reports.reading.figures import ReportData, Row, SectionData
from meridian.reports.reading.load import freshness_gap, load_report_data, load_section, tenant_currency
from meridian.reports.reading.timeline import month_end, previous_period

__all__ = [
    "ReportData",
    "Row",
    "SectionData",
    "freshness_gap",
    "load_report_data",
    "load_section",
    "month_end",
    "previous_period",
    "tenant_currency",
]
