"""Result records of the ladder: one JSON file per trained network, written atomically.

A record says what was measured (accuracies, best epoch, time, speed) and how (mode, schedule,
library versions, machine, git commit, date). Each also keeps the network's predicted class for
every test image, as a string of digits, so an ensemble can vote later without the weights.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from cnnbook.files import atomic_write

ROOT = Path(__file__).resolve().parents[2]
#: Where the full run's records are committed.
FULL_RESULTS = ROOT / "results" / "ablation"


def record_name(row: int, member: int = 1) -> str:
    """File name of a row's record; ensemble members after the first get their own."""
    return f"row-{row}.json" if member == 1 else f"row-{row}-member-{member}.json"


def read_record(folder: Path, name: str) -> dict | None:
    """The record ``folder/name``, or None when it does not exist."""
    path = Path(folder) / name
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def write_record(folder: Path, name: str, record: dict) -> Path:
    """Write ``record`` as ``folder/name`` through a temporary file, so a killed run leaves no half-written record."""
    return atomic_write(Path(folder) / name, json.dumps(record, indent=1) + "\n")


def full_records(folder: Path = FULL_RESULTS) -> dict[int, dict]:
    """The full-mode record of every row that has one, by row number."""
    records = {}
    for path in sorted(Path(folder).glob("row-*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("mode") == "full" and record.get("member", 1) == 1:
            records[record["row"]] = record
    return records


def predictions_text(predictions: np.ndarray) -> str:
    """Predicted classes 0-9 as one string of digits."""
    return "".join(map(str, np.asarray(predictions).tolist()))


def predictions_array(text: str) -> np.ndarray:
    """The inverse of :func:`predictions_text`."""
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")


def recorded_or_trained(
    results: Path | None,
    name: str,
    wanted: dict,
    train: Callable[[], dict],
    label: str,
    log: Callable[[str], None],
    starting: Callable[[], str] | None = None,
) -> dict:
    """The record ``name`` in ``results`` if it was made with the ``wanted`` settings, else ``train()``'s.

    A new record is written to ``results`` (when there is a folder) as soon as it exists, so an interrupted
    run resumes at the next network; ``log`` hears, under ``label``, which happened (and ``starting()``,
    a line computed only when training is needed).
    """
    record = read_record(results, name) if results is not None else None
    if record is not None and all(record.get(key) == value for key, value in wanted.items()):
        log(f"{label}: recorded, {record['test_accuracy']:.2f}% (not trained again)")
        return record
    if record is not None:
        log(f"{label}: recorded with other settings, training again")
    if starting is not None:
        log(f"{label}: {starting()}")
    record = train()
    if results is not None:
        write_record(results, name, record)
    log(f"{label}: {record['test_accuracy']:.2f}% test, best epoch {record['best_epoch']}, {record['seconds']:.0f} s")
    return record


def percent_correct(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy in percent, to the 0.01 that a 10,000-image test set resolves."""
    return round(100 * float(np.mean(np.asarray(predictions) == np.asarray(labels))), 2)


def provenance() -> dict:
    """Library versions, machine, git commit and date, for a record."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": f"{platform.system()} {platform.machine()}, {_cpu_name()}, {os.cpu_count()} CPUs",
        "commit": commit,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(sys.argv),
    }


def command_line(argv: list[str]) -> str:
    """The command that made a record, as one could type it in the repository: ``python -m cnnbook.ablation
    --full``, never an absolute path of the machine it ran on (a path outside the repository becomes ``...``).
    """
    script = Path(argv[0]).resolve() if argv and argv[0] not in ("", "-c") else None
    package = ROOT / "cnnbook"
    if script is not None and package in script.parents:  # a module of the package: run with -m
        parts = script.relative_to(ROOT).with_suffix("").parts
        head = ["python", "-m", ".".join(parts[:-1] if parts[-1] == "__main__" else parts)]
    elif script is not None and ROOT in script.parents:
        head = ["python", script.relative_to(ROOT).as_posix()]
    else:
        head = ["python", Path(argv[0]).name if argv and argv[0] else "-c"]
    return " ".join(head + [_repository_relative(arg) for arg in argv[1:]])


def _repository_relative(arg: str) -> str:
    if not Path(arg).is_absolute():
        return arg
    path = Path(arg).resolve()
    return path.relative_to(ROOT).as_posix() if path == ROOT or ROOT in path.parents else "..."


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
