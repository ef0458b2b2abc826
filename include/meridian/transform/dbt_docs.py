"""The dbt docs site the Airflow plugin serves: generated again only when the project changed.

``generate_docs`` runs ``dbt docs generate`` into a target of its own and
publishes index.html, manifest.json and catalog.json into :func:`docs_dir`
(meridian.docs_site serves them), with the checksum of the manifest they come
from, so a run whose project did not change keeps them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from meridian.config import WAREHOUSE_CONN_ID, settings
from meridian.transform.dbt_run import Dbt, DbtBuildError, target_dir
from meridian.transform.plan import RunPlan

log = logging.getLogger(__name__)

DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


def docs_dir() -> Path:
    """The published docs site (index.html, manifest.json, catalog.json) the Airflow plugin serves."""
    return Path(os.environ.get("MERIDIAN_DBT_DOCS_DIR") or settings().state_dir / "dbt" / "docs")


def _manifest_checksum(manifest_file: Path) -> str:
    manifest = json.loads(manifest_file.read_text())
    # the nodes' checksums and the project's files, not the generation time
    nodes = {uid: node.get("checksum", {}).get("checksum") for uid, node in manifest.get("nodes", {}).items()}
    for section in ("sources", "exposures", "macros"):
        nodes.update({uid: json.dumps(item.get("description", ""), sort_keys=True) + json.dumps(
            item.get("config", item.get("meta", {})), sort_keys=True, default=str)
            for uid, item in manifest.get(section, {}).items()})
    return hashlib.sha256(json.dumps(nodes, sort_keys=True).encode()).hexdigest()


def docs_due(published: Path, built_manifest: Path, *, force: bool = False) -> str | None:
    """Why the docs in ``published`` must be generated again, or None when they are up to date.

    ``built_manifest`` is the manifest of the project as the run parsed it; the
    published docs carry the checksum of the manifest they were generated from.
    """
    stamp = published / ".project-checksum"
    if force:
        return "forced"
    if not all((published / name).exists() for name in DOCS_FILES) or not stamp.exists():
        return "no docs published yet"
    if _manifest_checksum(built_manifest) != stamp.read_text().strip():
        return "the project changed since the docs were generated"
    return None


def generate_docs(plan: RunPlan, conn_id: str = WAREHOUSE_CONN_ID, *, force: bool = False) -> dict[str, Any]:
    """``dbt docs generate`` into the published docs folder when due.

    Due when forced, when no docs are published yet, or when the project
    changed since they were: the manifest the run's build parsed (its node
    checksums) differs from the one the docs were generated from. A run whose
    project did not change keeps the published docs, full refresh or not: the
    catalog's tables and columns come from the project, not from the data.
    """
    published = docs_dir()
    dbt = Dbt(conn_id=conn_id, target=target_dir().parent / "docs-target")
    stamp = published / ".project-checksum"
    built_manifest = target_dir() / "manifest.json"
    if not force and not built_manifest.exists():
        dbt.ensure_parsed()
        built_manifest = dbt.target / "manifest.json"
    reason = docs_due(published, built_manifest, force=force)
    if reason is None:
        log.info("dbt docs are up to date in %s", published)
        return {"generated": False, "docs_dir": str(published)}
    started = time.monotonic()
    result = dbt.invoke(["docs", "generate", "--vars", json.dumps(plan.dbt_vars())])
    if not result.success:
        raise DbtBuildError(f"dbt docs generate failed: {result.exception}")
    published.mkdir(parents=True, exist_ok=True)
    for name in DOCS_FILES:
        shutil.copyfile(dbt.target / name, published / f".{name}.tmp")
        os.replace(published / f".{name}.tmp", published / name)
    stamp.write_text(_manifest_checksum(dbt.target / "manifest.json"))
    seconds = time.monotonic() - started
    log.info("dbt docs generated (%s) in %.1fs into %s", reason, seconds, published)
    return {"generated": True, "reason": reason, "seconds": round(seconds, 1), "docs_dir": str(published)}
