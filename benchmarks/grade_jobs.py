"""Wall time of ``cnnbook grade`` on K copies of a chapter's solution with --jobs 1 and --jobs 2.

python benchmarks/grade_jobs.py [--copies 200] [--chapter 01-convolution-and-edges]

It also prints how many cores the machine kept busy on average during each run (from /proc/stat, so anything else
running counts too: run it on a quiet machine). On C cores, a run of --jobs 1 that keeps B cores busy can be made at
most C / B times faster by running jobs side by side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=200, help="how many submissions (default 200)")
    parser.add_argument("--chapter", default="01-convolution-and-edges", help="the solution notebook's name")
    args = parser.parse_args()
    solution = ROOT / "solutions" / f"{args.chapter}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "class")
        for n in range(args.copies):
            (folder / f"hw-s{n:03d}").mkdir(parents=True)
            shutil.copy(solution, folder / f"hw-s{n:03d}" / solution.name)
        folder.chmod(0o700)
        times = {}
        for jobs in (1, 2):
            command = [sys.executable, "-m", "cnnbook", "grade", str(folder), "--source", str(solution), "-q"]
            started, busy = time.perf_counter(), _busy_seconds()
            subprocess.run(
                [*command, "--jobs", str(jobs), "--csv", str(Path(tmp, f"{jobs}.csv"))],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            times[jobs] = time.perf_counter() - started
            cores = (_busy_seconds() - busy) / times[jobs]
            print(
                f"--jobs {jobs}: {times[jobs]:.1f} s for {args.copies} submissions "
                f"({times[jobs] / args.copies:.2f} s each), {cores:.2f} cores busy on average",
                flush=True,
            )
    print(f"speed-up of --jobs 2: {times[1] / times[2]:.2f}x")


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent on anything but idling and waiting for I/O, since it started (0 where
    there is no /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
