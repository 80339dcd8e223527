"""Command line: ``python -m tracking sweep ...`` and ``python -m tracking agent ...``.

``python -m tracking sweep sweep.yaml`` creates a sweep and prints its id on
standard output, with its first trials' configs on standard error; ``-R ID``
attaches finished runs as prior observations.
``python -m tracking sweep --pause ID`` (or ``--resume``, ``--stop``,
``--cancel``, ``--requeue``) changes a sweep. ``python -m tracking agent ID``
runs the sweep's program or command as subprocess trials.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
from collections.abc import Sequence

from tracking.errors import TrackingError

logger = logging.getLogger("tracking")

_STATE_COMMANDS = ("pause", "resume", "stop", "cancel")
# Seeds feed NumPy's generators (non-negative) and a BIGINT column.
_MAX_SEED = 2**63 - 1


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None


def _positive_count(text: str) -> int:
    count = _integer(text)
    if count < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of trials, got {count}; leave --count "
            "out to run trials until the sweep ends"
        )
    return count


def _n_jobs(text: str) -> int:
    n_jobs = _integer(text)
    if n_jobs == 0 or n_jobs < -1:
        raise argparse.ArgumentTypeError(
            f"must be a positive number of trials at once, or -1 for one per "
            f"core, got {n_jobs}"
        )
    return n_jobs


def _seed(text: str) -> int:
    seed = _integer(text)
    if not 0 <= seed <= _MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 0 to {_MAX_SEED}, got {seed}"
        )
    return seed


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds, got {text!r}"
        ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds, 0 or more, got {text}"
        )
    return seconds


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tracking",
        description="Runlens sweeps: create a sweep, change its state, run an agent.",
    )
    parser.add_argument(
        "--store",
        help="the store folder or SQLAlchemy URL (default: RUNLENS_STORE, then "
        "./runlens)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    sweep = commands.add_parser(
        "sweep",
        help="create a sweep from a YAML config, or change a sweep's state",
    )
    sweep.add_argument(
        "target",
        help="the sweep config YAML file, or with a state flag the sweep id",
    )
    sweep.add_argument("--project", help="the project of the sweep's runs")
    sweep.add_argument("--entity", help="accepted for W&B compatibility; ignored")
    sweep.add_argument("--name", help="the sweep's name (overrides the config's)")
    sweep.add_argument(
        "--seed", type=_seed, help="seed of random draws, bayes and randomized grids"
    )
    sweep.add_argument(
        "-R",
        "--prior-run",
        "--prior_run",
        dest="prior_runs",
        action="append",
        metavar="RUN_ID",
        help="a finished run of the project to attach to the new sweep as an "
        "observation (repeat the flag for several runs)",
    )
    flags = sweep.add_mutually_exclusive_group()
    for command in _STATE_COMMANDS:
        flags.add_argument(
            f"--{command}", action="store_true", help=f"{command} the sweep TARGET"
        )
    flags.add_argument(
        "--requeue",
        action="store_true",
        help="issue the grid combinations of TARGET's failed trials again",
    )

    agent = commands.add_parser("agent", help="run trials of a sweep")
    agent.add_argument("sweep_id", help="ID, PROJECT/ID or ENTITY/PROJECT/ID")
    agent.add_argument(
        "--count",
        type=_positive_count,
        help="the number of trials to run (default: until the sweep ends)",
    )
    agent.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=1,
        help="trials to run at once, -1 for one per core (default 1)",
    )
    agent.add_argument("--project", help="accepted for W&B compatibility; ignored")
    agent.add_argument("--entity", help="accepted for W&B compatibility; ignored")
    agent.add_argument(
        "--term-timeout",
        type=_seconds,
        default=30.0,
        help="seconds between SIGTERM and SIGKILL for a stopped trial (default 30)",
    )
    return parser


def _create_sweep(args: argparse.Namespace) -> int:
    from tracking import sweeps

    config = sweeps.load_sweep_config(args.target).raw
    if args.name:
        config["name"] = args.name
    sweep_id = sweeps.sweep(
        config,
        project=args.project,
        prior_runs=args.prior_runs,
        location=args.store,
        seed=args.seed,
    )
    print(f"Run an agent with: python -m tracking agent {sweep_id}", file=sys.stderr)
    print(sweep_id)
    return 0


def _change_sweep(args: argparse.Namespace) -> int:
    from tracking import sweeps

    if args.requeue:
        freed = sweeps.requeue_failed(args.target, location=args.store)
        print(f"Queued {freed} failed combinations of sweep {args.target} again")
        return 0
    for command in _STATE_COMMANDS:
        if getattr(args, command):
            state = getattr(sweeps, command)(args.target, location=args.store)
            print(f"Sweep {args.target} is {state}")
    return 0


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _run_agent(args: argparse.Namespace) -> int:
    from tracking import sweeps

    # SIGTERM ends the agent like Ctrl-C: its running trial is stopped first.
    signal.signal(signal.SIGTERM, _interrupt)

    results = sweeps.agent(
        args.sweep_id,
        count=args.count,
        n_jobs=args.n_jobs,
        location=args.store,
        term_timeout=args.term_timeout,
    )
    print(f"Agent ran {len(results)} trials", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    changes_sweep = args.command == "sweep" and any(
        getattr(args, c) for c in (*_STATE_COMMANDS, "requeue")
    )
    if changes_sweep and args.prior_runs:
        parser.error(
            "--prior-run applies when creating a sweep from a config file; "
            "remove it or the state flag"
        )
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "agent":
            return _run_agent(args)
        if changes_sweep:
            return _change_sweep(args)
        return _create_sweep(args)
    except TrackingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
