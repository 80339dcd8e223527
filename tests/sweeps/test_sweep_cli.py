"""Command-line arguments: invalid numbers are argparse errors naming the value."""

from __future__ import annotations

import pytest

from tracking.__main__ import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["agent", "abc", "--count", "0"],
            "argument --count: must be a positive number of trials, got 0; "
            "leave --count out",
        ),
        (["agent", "abc", "--count", "-2"], "argument --count: must be a positive"),
        (
            ["agent", "abc", "--count", "two"],
            "argument --count: expected a whole number, got 'two'",
        ),
        (
            ["agent", "abc", "--n-jobs", "0"],
            "argument --n-jobs: must be a positive number of trials at once, or -1 "
            "for one per core, got 0",
        ),
        (["agent", "abc", "--n-jobs", "-3"], "argument --n-jobs: must be a positive"),
        (
            ["agent", "abc", "--term-timeout", "-1"],
            "argument --term-timeout: must be a finite number of seconds, 0 or "
            "more, got -1",
        ),
        (["agent", "abc", "--term-timeout", "nan"], "argument --term-timeout: must"),
        (
            ["sweep", "s.yaml", "--seed", "-5"],
            "argument --seed: must be a whole number from 0 to 9223372036854775807, "
            "got -5",
        ),
        (
            ["sweep", "--pause", "abc", "-R", "run1"],
            "--prior-run applies when creating a sweep from a config file",
        ),
    ],
)
def test_invalid_argument_is_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert message in error
    assert "Traceback" not in error


def test_valid_numbers_accepted(sqlite_store, capsys):
    """Check that --n-jobs -1 and --term-timeout 0 pass parsing."""
    assert main(["agent", "nosweep", "--n-jobs", "-1", "--term-timeout", "0"]) == 1
    assert "sweep 'nosweep' not found" in capsys.readouterr().err
