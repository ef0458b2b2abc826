"""The Airflow assets that chain the DAGs (data-aware scheduling, no sleeps).

extract_sources produces RAW_ASSET; transform_warehouse runs on it and produces
MARTS_ASSET; deliver_reports runs on MARTS_ASSET (and every 15 minutes). Each
event carries ``{"as_of_date": "YYYY-MM-DD"}`` in its extra.
"""

from airflow.sdk import Asset

RAW_ASSET = Asset("meridian://warehouse/raw")
MARTS_ASSET = Asset("meridian://warehouse/marts")
