"""dbt's compiled Jinja templates kept on disk between processes (meridian.transform.jinja_cache)."""

from __future__ import annotations

import jinja2
import pytest
from dbt_common.clients import jinja as dbt_jinja

from meridian.transform import jinja_cache

TEMPLATE = "{% for name in who.split(',') %}hello {{ name | upper }}{{ ', ' if not loop.last }}{% endfor %} at {{ when }}"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache installed over a fresh directory; counts the compilations that reach Jinja."""
    monkeypatch.setattr(jinja_cache, "_state", {})
    jinja_cache.install(tmp_path / "cache")
    compiled = []

    def counting(self, *args, **kwargs):  # Jinja's own compilation, counted
        compiled.append(args[0])
        return jinja2.Environment.compile(self, *args, **kwargs)

    monkeypatch.setattr(dbt_jinja.MacroFuzzEnvironment, "compile", jinja_cache._cached_compile(counting))
    return tmp_path / "cache", compiled


def render(source: str, native: bool = False, **values) -> object:
    return dbt_jinja.get_template(source, {}, native=native).render(values)


def entries(directory):
    return sorted(path for path in directory.glob("*/*") if not path.name.startswith("."))


def test_a_template_compiled_once_is_loaded_from_the_cache_after(cache):
    directory, compiled = cache
    assert render(TEMPLATE, who="ann", when="noon") == "hello ANN at noon"
    assert len(compiled) == 1 and len(entries(directory)) == 1
    # a new environment, as dbt makes for every template: the code comes from the disk, the result is the same
    assert render(TEMPLATE, who="bo,cy", when="dusk") == "hello BO, hello CY at dusk"
    assert len(compiled) == 1 and len(entries(directory)) == 1


def test_the_key_holds_the_source_and_the_environment(cache):
    directory, compiled = cache
    render(TEMPLATE, who="ann", when="noon")
    render(TEMPLATE + " ", who="ann", when="noon")  # another source
    render("{{ 1 + 1 }}", native=True)  # dbt's native environment generates other code than its text one
    assert render("{{ 1 + 1 }}") == "2"
    assert len(compiled) == 4 and len(entries(directory)) == 4


def test_an_unreadable_entry_is_compiled_again_and_replaced(cache):
    directory, compiled = cache
    render(TEMPLATE, who="ann", when="noon")
    [entry] = entries(directory)
    entry.write_bytes(b"\x00not marshal")
    assert render(TEMPLATE, who="cy", when="dawn") == "hello CY at dawn"
    assert len(compiled) == 2
    assert render(TEMPLATE, who="di", when="dawn") == "hello DI at dawn" and len(compiled) == 2


def test_nothing_is_cached_with_dbt_macro_debugging(cache, monkeypatch):
    directory, compiled = cache
    monkeypatch.setattr(dbt_jinja, "MACRO_DEBUGGING", True)
    render(TEMPLATE, who="ann", when="noon")
    render(TEMPLATE, who="ann", when="noon")
    assert len(compiled) == 2 and entries(directory) == []


def test_a_directory_over_its_bound_is_emptied(tmp_path, monkeypatch):
    monkeypatch.setattr(jinja_cache, "_state", {})
    monkeypatch.setattr(jinja_cache, "MAX_ENTRIES", 3)
    directory = tmp_path / "cache"
    for index in range(4):
        (directory / "ab").mkdir(parents=True, exist_ok=True)
        (directory / "ab" / f"entry{index}").write_bytes(b"")
    jinja_cache.install(directory)
    assert directory.is_dir() and list(directory.iterdir()) == []
