"""A disk cache of the Python code dbt compiles its Jinja templates to, for the in-process dbt runs.

dbt renders every macro and model through Jinja, and Jinja turns each template's source into
Python code (parse, code generation, ``compile``) the first time a process renders it. A pipeline
run is a new process, so every run compiled the same ~1,000 templates again: about 1.3 of the
~8 CPU-seconds an incremental run's dbt spends, under one GIL, whatever the size of the new data.
The code depends only on the template's source and on the environment that compiles it (its
class, extensions and syntax settings), so Jinja's own answer to this applies: a bytecode cache
(``jinja2.BytecodeCache`` keeps compiled code with ``marshal`` the same way), which dbt does not
enable for the string templates it renders.

:func:`install` wraps ``compile`` of dbt's Jinja environment class: a template whose code is in
the cache is loaded from it, any other is compiled as before and stored. Entries are written
once under a name derived from everything the code depends on (the source, the environment's
settings, the Jinja, dbt and Python versions), atomically, so processes can share the
directory; an unreadable entry is compiled again. With dbt's macro debugging on
(``DBT_MACRO_DEBUGGING``), which puts the code's source into ``linecache``, nothing is cached.
The directory is emptied when it holds more than :data:`MAX_ENTRIES` entries (the project's
templates are a few thousand; edits over time add more).
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import CodeType
from typing import Any

log = logging.getLogger(__name__)

MAX_ENTRIES = 20_000
_SETTINGS = ("block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
             "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
             "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized", "is_async")
_state: dict[str, Any] = {}


def _versions() -> str:
    return "|".join([*(version(package) for package in ("jinja2", "dbt-common", "dbt-core")),
                     sys.version, str(marshal.version)])


def _environment_key(environment: Any) -> str:
    """What the generated code depends on besides the source: the class, the extensions, the syntax."""
    autoescape = environment.autoescape if isinstance(environment.autoescape, bool) else "callable"
    return repr((type(environment).__module__, type(environment).__qualname__, sorted(environment.extensions),
                 [getattr(environment, name) for name in _SETTINGS], autoescape, environment.finalize is not None))


def _store(path: Path, code: CodeType) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            marshal.dump(code, out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _cached_compile(original: Callable[..., Any]) -> Callable[..., Any]:
    def compile(self: Any, source: Any, name: str | None = None, filename: str | None = None, raw: bool = False,
                defer_init: bool = False) -> Any:
        directory = _state.get("directory")
        from dbt_common.clients.jinja import MACRO_DEBUGGING

        if directory is None or raw or not isinstance(source, str) or MACRO_DEBUGGING:
            return original(self, source, name, filename, raw, defer_init)
        digest = hashlib.sha256("\0".join(
            [_state["versions"], _environment_key(self), repr((name, filename, defer_init)), source]).encode())
        key = digest.hexdigest()
        path = directory / key[:2] / key
        try:
            return marshal.loads(path.read_bytes())
        except FileNotFoundError:
            pass
        except (EOFError, ValueError, TypeError):
            log.warning("jinja cache: entry %s unreadable, compiling the template again", path)
        code = original(self, source, name, filename, raw, defer_init)
        try:
            _store(path, code)
        except OSError as error:  # a full or read-only disk costs the cache, not the run
            log.warning("jinja cache: could not write %s: %s", path, error)
        return code

    compile.meridian_original = original  # type: ignore[attr-defined]
    return compile


def install(directory: Path) -> None:
    """Serve dbt's template compilation in this process from ``directory`` (created when missing)."""
    from dbt_common.clients.jinja import MacroFuzzEnvironment

    directory.mkdir(parents=True, exist_ok=True)
    if sum(1 for _ in directory.glob("*/*")) > MAX_ENTRIES:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, exist_ok=True)
    _state.update(directory=directory, versions=_state.get("versions") or _versions())
    if not hasattr(MacroFuzzEnvironment.compile, "meridian_original"):
        # dbt's text and native environments (NativeSandboxEnvironment subclasses it) compile through this method
        MacroFuzzEnvironment.compile = _cached_compile(MacroFuzzEnvironment.compile)
