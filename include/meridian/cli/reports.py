"""``meridian reports``: create, list, pause, resume, run now, render and resolve scheduled reports
(:mod:`meridian.delivery.manage`, :mod:`meridian.delivery.adhoc`).
"""

from __future__ import annotations

import argparse
import sys

from meridian.cli.arguments import in_range_date, report_id

# the option of each field a ReportConfigError names (parameters.x is --parameters)
REPORT_OPTIONS = {
    "tenant_id": "--tenant", "name": "--name", "report_type": "--type", "frequency": "--frequency",
    "formats": "--formats", "recipients": "--recipients", "parameters": "--parameters", "first_run": "--first-run",
    "period": "--period", "as_of": "--as-of", "out": "--out", "id": "ID", "is_active": "ID",
}


def cmd_reports(args: argparse.Namespace) -> int:
    from meridian.db import connection
    from meridian.delivery import adhoc, manage
    from meridian.reports.registry import ReportConfigError

    where = f"meridian reports {args.action}"
    try:
        if args.action == "create":
            report = manage.validate_new_report(
                tenant=args.tenant, name=args.name, report_type=args.type, frequency=args.frequency,
                formats=args.formats, recipients=args.recipients, parameters=args.parameters,
                first_run=args.first_run,
            )
            with connection("warehouse") as conn:
                report_id = manage.create_report(conn, report)
            print(report_id)
            print(f"scheduled report {report_id} ({report.tenant_id}, {report.report_type}, {report.frequency}) "
                  f"first due {report.next_run_at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
        elif args.action == "list":
            with connection("warehouse") as conn:
                rows = manage.list_reports(conn, tenant=args.tenant, include_paused=args.all)
            print(manage.format_table(rows))
        elif args.action in ("pause", "resume"):
            with connection("warehouse") as conn:
                row = manage.set_active(conn, args.id, args.action == "resume")
            state = "active" if row.is_active else "paused"
            print(f"scheduled report {row.id} ({row.tenant_id}, {row.name}) is {state}; "
                  f"next run {row.next_run_at:%Y-%m-%d %H:%M} UTC")
        elif args.action == "run-now":
            now = manage.parse_moment(args.as_of, "as_of")
            report, results = adhoc.run_now(args.id, now=now, out_dir=args.out)
            if not results:
                print(f"scheduled report {report.id}: nothing due (next run {report.next_run_at:%Y-%m-%d %H:%M} UTC)")
            for result in results:
                print(adhoc.describe_result(result))
                for path in result.files:
                    print(f"  {path}")
            return 1 if any(result.status == "failed" for result in results) else 0
        elif args.action == "resolve":
            with connection("warehouse") as conn:
                _, _, done = adhoc.resolve_delivery(
                    conn, args.id, args.period, adhoc.RESEND if args.resend else adhoc.MARK_SENT
                )
            print(done)
        elif args.action == "render":
            rendered = adhoc.render_adhoc(
                tenant=args.tenant, report_type=args.type, period=args.period, frequency=args.frequency,
                formats=args.formats, parameters=args.parameters, out_dir=args.out,
            )
            if rendered.warning:
                print(f"{where}: warning: the marts may not cover {rendered.period.label} yet: {rendered.warning}",
                      file=sys.stderr)
            for path in rendered.files:
                print(path)
    except ReportConfigError as exc:
        option = REPORT_OPTIONS.get(exc.field.split(".")[0])
        print(f"{where}: {option + ': ' if option else ''}invalid {exc.field}: {exc.message}", file=sys.stderr)
        return 2
    except manage.ReportNotFoundError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these subcommands to ``meridian``'s (in the order ``meridian --help`` lists them)."""
    reports = sub.add_parser("reports", help="create, list, pause, resume, run, render or resolve scheduled reports")
    actions = reports.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="schedule a report (validated before it is inserted)")
    create.add_argument("--tenant", required=True, help="the tenant (organization) id")
    create.add_argument("--name", required=True, help="the report's name, shown in its subject and files")
    create.add_argument("--type", default="revenue_summary", help="report type (default revenue_summary)")
    create.add_argument("--frequency", default="monthly", help="daily, weekly or monthly (default monthly)")
    create.add_argument("--formats", default="pdf,csv", help="comma-separated: pdf,csv,xlsx,html (default pdf,csv)")
    create.add_argument("--recipients", required=True, help="comma-separated e-mail addresses")
    create.add_argument("--parameters", default=None, help="a JSON object, e.g. '{\"trend_months\": 6}'")
    create.add_argument("--first-run", default=None,
                        help="first due time, YYYY-MM-DD (00:00 UTC) or ISO date-time "
                             "(default: the next period boundary)")
    listing = actions.add_parser("list", help="list scheduled reports")
    listing.add_argument("--tenant", default=None, help="only this tenant's reports (default: every tenant)")
    listing.add_argument("--all", action="store_true", help="include paused reports")
    for action, text in (("pause", "stop delivering a report"), ("resume", "deliver a paused report again")):
        actions.add_parser(action, help=text).add_argument("id", type=report_id, help="the report id (reports list)")
    run_now = actions.add_parser("run-now", help="deliver a report's due periods now (sent periods are not resent)")
    run_now.add_argument("id", type=report_id, help="the report id (reports list)")
    run_now.add_argument("--as-of", type=in_range_date, default=None, help="deliver as of YYYY-MM-DD 00:00 UTC (default: now)")
    run_now.add_argument("--out", default=None, help="folder for the files (default: the reports output dir)")
    resolve = actions.add_parser(
        "resolve", help="settle a delivery whose outcome is unknown: it arrived (--mark-sent) or not (--resend)")
    resolve.add_argument("id", type=report_id, help="the report id (reports list)")
    resolve.add_argument("--period", required=True, help="monthly YYYY-MM; weekly/daily YYYY-MM-DD (first day)")
    outcome = resolve.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--mark-sent", action="store_true", help="the message arrived: record it sent, move on")
    outcome.add_argument("--resend", action="store_true", help="it did not arrive: the next run sends it again")
    render = actions.add_parser("render", help="render a report to a folder; sends and records nothing")
    render.add_argument("--tenant", required=True, help="the tenant (organization) id")
    render.add_argument("--type", default="revenue_summary", help="report type (default revenue_summary)")
    render.add_argument("--period", required=True, help="monthly YYYY-MM; weekly/daily YYYY-MM-DD (first day)")
    render.add_argument("--frequency", default="monthly", help="daily, weekly or monthly (default monthly)")
    render.add_argument("--formats", default="pdf,csv,xlsx,html",
                        help="comma-separated: pdf,csv,xlsx,html (default all four)")
    render.add_argument("--parameters", default=None, help="a JSON object")
    render.add_argument("--out", required=True, help="folder to write the files into")
    reports.set_defaults(func=cmd_reports)
