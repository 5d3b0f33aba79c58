"""Wall time of ``cnnbook grade`` on K copies of a chapter's solution with --jobs 1 and --jobs 2.

python benchmarks/grade_jobs.py [--copies 20] [--chapter 01-convolution-and-edges]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="how many submissions (default 20)")
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
            started = time.perf_counter()
            subprocess.run(
                [*command, "--jobs", str(jobs), "--csv", str(Path(tmp, f"{jobs}.csv"))],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            times[jobs] = time.perf_counter() - started
            print(f"--jobs {jobs}: {times[jobs]:.1f} s for {args.copies} submissions", flush=True)
    print(f"speed-up of --jobs 2: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
