"""``python -m cnnbook.ablation (--full | --quick) [--rows N ...] [--results DIR]``: train the ladder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .records import FULL_RESULTS, ROOT
from .runner import FULL, QUICK, run_ladder


def main(argv: list[str] | None = None) -> int:
    """Run the ladder from the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m cnnbook.ablation", description=__doc__.split(": ", 1)[1])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--full", action="store_true", help="all of MNIST and the rows' full schedules (hours)")
    which.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK.train_size:,} training images and {QUICK.max_epochs} epochs per network (minutes)",
    )
    parser.add_argument("--rows", type=int, nargs="+", choices=range(1, 9), metavar="N", help="only these rows (1-8)")
    parser.add_argument(
        "--results",
        type=Path,
        help=f"where records go (default: {FULL_RESULTS.relative_to(ROOT)} "
        "for --full, _build/ablation-quick for --quick)",
    )
    args = parser.parse_args(argv)
    mode = FULL if args.full else QUICK
    results = args.results or (FULL_RESULTS if args.full else ROOT / "_build" / "ablation-quick")
    records = run_ladder(mode, rows=args.rows, results=results)
    print(f"\n{'row':>3}  {'test %':>7}  {'source %':>8}  {'seconds':>8}  name")
    for number, record in records.items():
        print(
            f"{number:>3}  {record['test_accuracy']:7.2f}  {record['source_accuracy']:8.2f}  "
            f"{record['seconds']:8.0f}  {record['name']}"
        )
    print(f"records in {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
