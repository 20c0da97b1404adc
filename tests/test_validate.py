"""``llmhooks._validate``: constructor checks name the argument, what was given and what is allowed."""

from __future__ import annotations

import math

import pytest

from llmhooks._validate import (
    check_bool,
    check_choice,
    check_int,
    check_log_level,
    check_number,
    check_tags,
    check_writable_path,
)


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ("5", TypeError, "max_wait must be a number, got '5' (str)"),
        (True, TypeError, "max_wait must be a number"),
        (math.nan, ValueError, "max_wait must be a finite number, got nan"),
        (math.inf, ValueError, "finite"),
        (-1, ValueError, "max_wait must be >= 0, got -1"),
    ],
)
def test_number_errors_name_argument_value_and_rule(value: object, error: type, words: str) -> None:
    """Each refusal says which argument, what it got and what it takes."""
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        check_number("max_wait", value, minimum=0)


def test_number_accepts_in_range_and_none_when_allowed() -> None:
    """Valid values come back unchanged."""
    assert check_number("x", 0, minimum=0) == 0
    assert check_number("x", 2.5, minimum=0, exclusive_minimum=True) == 2.5
    assert check_number("x", None, allow_none=True) is None
    with pytest.raises(ValueError, match="must be > 0"):
        check_number("x", 0, minimum=0, exclusive_minimum=True)


def test_int_bool_choice() -> None:
    """Integers refuse floats and bools; choices list what is allowed."""
    assert check_int("n", 3, minimum=1) == 3
    with pytest.raises(TypeError, match=r"n must be an integer, got 1\.5"):
        check_int("n", 1.5)
    with pytest.raises(TypeError, match="flag must be True or False"):
        check_bool("flag", "false")
    with pytest.raises(ValueError, match="policy must be one of 'a', 'b'; got 'c'"):
        check_choice("policy", "c", ("a", "b"))


def test_tags_single_string_is_one_tag() -> None:
    """``tags="beta"`` is one tag, not four letters."""
    assert check_tags("tags", "beta") == ["beta"]
    assert check_tags("tags", ("a", "b")) == ["a", "b"]
    assert check_tags("tags", None) == []
    with pytest.raises(TypeError, match="tags must hold strings only"):
        check_tags("tags", ["a", 1])


def test_writable_path_under_a_file(tmp_path: object) -> None:
    """A path whose parent is a file is refused at once, naming both."""
    import pathlib

    base = pathlib.Path(str(tmp_path))
    (base / "file").write_text("x")
    with pytest.raises(ValueError, match="which is a file"):
        check_writable_path("path", base / "file" / "out.jsonl")
    assert check_writable_path("path", base / "new" / "out.jsonl").endswith("out.jsonl")
    with pytest.raises(ValueError, match="directory"):
        check_writable_path("path", base)


def test_log_level_takes_numbers_and_names_as_logging_does() -> None:
    """``"INFO"``, ``"warning"``, custom level names and numbers; anything else is named."""
    import logging

    assert check_log_level("level", "INFO") == logging.INFO
    assert check_log_level("level", "warning") == logging.WARNING
    assert check_log_level("level", 5) == 5
    logging.addLevelName(25, "NOTICE")
    assert check_log_level("level", "notice") == 25
    with pytest.raises(ValueError, match=r"level must be a logging level or one of .*DEBUG.*; got 'LOUD'"):
        check_log_level("level", "LOUD")
    with pytest.raises(TypeError, match=r"level must be a logging level .*got 2\.5"):
        check_log_level("level", 2.5)
    with pytest.raises(ValueError, match="level must be a logging level >= 0, got -1"):
        check_log_level("level", -1)
