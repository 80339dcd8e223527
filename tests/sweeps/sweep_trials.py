"""Train functions for sweep tests, importable by worker processes.

Test modules and agent processes import this file as ``sweep_trials`` (pytest
puts this folder on ``sys.path``; subprocesses get it through PYTHONPATH).
"""

from __future__ import annotations

import os
import time

import tracking


def log_params():
    """Log the sum of the numeric swept values as ``score``, three times."""
    run = tracking.init(config={"script_default": 1})
    score = _numeric_sum(dict(tracking.config))
    for step in range(3):
        run.log({"score": score + step})


def log_params_slowly():
    """Like log_params, but long enough for trials of other agents to overlap."""
    run = tracking.init()
    time.sleep(0.05)
    run.log({"score": _numeric_sum(dict(tracking.config)), "pid": os.getpid()})


def quadratic():
    """Log ``loss = (x - 0.3)^2`` for bayes tests."""
    run = tracking.init()
    run.log({"loss": (tracking.config.x - 0.3) ** 2})


def fail():
    tracking.init()
    raise ValueError("this trial fails on purpose")


def fail_before_init():
    raise RuntimeError("no run for this trial")


def hyperband_curve():
    """Log ``loss = level`` each iteration, reading ``should_stop`` like a loop would.

    With the writer flushing every 50 ms, hyperband decisions arrive as it logs.
    """
    run = tracking.init()
    level = float(tracking.config.level)
    for _ in range(40):
        run.log({"loss": level})
        time.sleep(0.02)
        if run.should_stop:
            break


def _numeric_sum(config):
    total = 0.0
    for value in config.values():
        if isinstance(value, dict):
            total += _numeric_sum(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            total += value
    return total


def kill_own_worker():
    """Log ``score``, except that x == 2 kills its own process with SIGKILL."""
    import signal

    run = tracking.init()
    if tracking.config.x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    run.log({"score": tracking.config.x})
