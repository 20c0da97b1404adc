"""docs/events.md's tables are the event classes as they are now (see tests/events_page.py)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import ClassVar

import pytest
from tests import events_page
from tests.events_page import COMMAND, PAGE, docstring_meanings, meaning, render, render_class

from llmhooks.events import AgentStepEvent, LLMEndEvent, LLMStartEvent, event_types


def test_page_matches_the_event_classes() -> None:
    """The generated parts of docs/events.md equal what the generator renders now."""
    page = PAGE.read_text()
    new = render(page)
    if new != page:
        diff = "".join(
            list(difflib.unified_diff(page.splitlines(True), new.splitlines(True), "page", "classes"))[:60]
        )
        pytest.fail(f"docs/events.md is out of date; regenerate it with: {COMMAND}\n{diff}")


def test_a_changed_table_is_put_back() -> None:
    """An edited or stale generated cell is what the sync test catches: render restores it."""
    page = PAGE.read_text()
    cell = "| `input_tokens` | `int \\| None` | `None` |"
    assert cell in page
    stale = page.replace(cell, "| `input_tokens` | `int` | `0` |")
    assert render(stale) == page


def test_every_event_class_needs_a_section() -> None:
    """A class with no region on the page is refused, naming the class and the command."""
    page = PAGE.read_text()
    start = page.index("<!-- generated: LLMTokenEvent -->")
    end = page.index("<!-- end generated -->", start) + len("<!-- end generated -->")
    with pytest.raises(LookupError, match="LLMTokenEvent") as info:
        render(page[:start] + page[end:])
    assert COMMAND in str(info.value)


def test_a_region_for_no_class_is_refused() -> None:
    """A region naming something that is not an event class (a renamed one) is an error."""
    page = PAGE.read_text() + "\n<!-- generated: LLMChunkEvent -->\n<!-- end generated -->\n"
    with pytest.raises(LookupError, match="LLMChunkEvent"):
        render(page)


def test_every_field_has_a_meaning_and_no_meaning_is_stale() -> None:
    """Each field of each class has a meaning, and MEANINGS has no entry for a field that is gone."""
    classes = [c for c in event_types().values() if c.__module__.startswith("llmhooks.")]
    assert len(classes) >= 36
    for cls in classes:
        assert render_class(cls)
    assert events_page.unused_meanings() == []


class _NewField(LLMEndEvent):
    # built as llmhooks' own classes are (no ``type``: it stays out of the registry)
    __module__ = "llmhooks.docs_check"
    carbon_grams: float | None = None


def test_a_field_without_a_meaning_is_refused() -> None:
    """A new field cannot reach the page without a meaning; the error says where to add one."""
    with pytest.raises(LookupError, match=r"_NewField\.carbon_grams.*MEANINGS"):
        render_class(_NewField)


class _Documented(LLMEndEvent):
    """An LLM call completed, with its footprint.

    Attributes:
        carbon_grams: grams of CO2 the call cost.
        input_tokens: prompt tokens as this class counts them.
    """

    __module__ = "llmhooks.docs_check"
    carbon_grams: float | None = None


def test_docstring_attributes_give_meanings_first() -> None:
    """An ``Attributes:`` section of a class docstring gives (and overrides) field meanings."""
    assert docstring_meanings(_Documented.__doc__) == {
        "carbon_grams": "grams of CO2 the call cost.",
        "input_tokens": "prompt tokens as this class counts them.",
    }
    assert meaning(_Documented, "carbon_grams") == "grams of CO2 the call cost."
    assert meaning(_Documented, "input_tokens") == "prompt tokens as this class counts them."
    assert meaning(_Documented, "output_tokens") == meaning(LLMEndEvent, "output_tokens")


class _Aliased(AgentStepEvent):
    __module__ = "llmhooks.docs_check"
    aliases: ClassVar[dict[str, str]] = {"thought": "action"}


def test_aliases_are_listed_with_their_class() -> None:
    """A class's ``aliases`` appear under its table, and the other names it is exported under."""
    assert render_class(_Aliased)[-1] == "Aliases: `thought` → `action`."
    assert _Aliased(thought="search").action == "search"
    assert "Also named: `LLMRequestStartedEvent`." in render_class(LLMStartEvent)
    assert "`request_id` → `run_id`" in render_class(LLMStartEvent)[-1]


def test_command_checks_and_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m tests.events_page`` exits 1 on a stale page and names the fix; ``--write`` fixes it."""
    page = tmp_path / "events.md"
    page.write_text(PAGE.read_text().replace("| `token` | `str` |", "| `token` | `bytes` |"))
    assert events_page.main([], page) == 1
    assert COMMAND in capsys.readouterr().err
    assert events_page.main(["--write"], page) == 0
    assert page.read_text() == PAGE.read_text()
    assert events_page.main([], page) == 0
