"""Command line: ``python -m tracking sweep ...`` and ``python -m tracking agent ...``.

``python -m tracking sweep sweep.yaml`` creates a sweep and prints its id on
standard output, with a preview of its first configs on standard error.
``python -m tracking sweep --pause ID`` (or ``--resume``, ``--stop``,
``--cancel``, ``--requeue``) changes a sweep. ``python -m tracking agent ID``
runs the sweep's program or command as subprocess trials.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from tracking.errors import TrackingError

logger = logging.getLogger("tracking")

_STATE_COMMANDS = ("pause", "resume", "stop", "cancel")


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
        "--seed", type=int, help="seed of random draws, bayes and randomized grids"
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
    agent.add_argument("--count", type=int, help="the number of trials to run")
    agent.add_argument(
        "--n-jobs", type=int, default=1, help="trials to run at once (default 1)"
    )
    agent.add_argument("--project", help="accepted for W&B compatibility; ignored")
    agent.add_argument("--entity", help="accepted for W&B compatibility; ignored")
    agent.add_argument(
        "--term-timeout",
        type=float,
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
        config, project=args.project, location=args.store, seed=args.seed
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
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        if args.command == "agent":
            return _run_agent(args)
        if any(getattr(args, c) for c in (*_STATE_COMMANDS, "requeue")):
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
