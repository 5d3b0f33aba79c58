"""The MNIST ablation ladder of source 003, section 5.25 (Nielsen's chapter 6), trained by cnnbook.nn.

>>> from cnnbook.ablation import ROWS
>>> [row.source_accuracy for row in ROWS]
[97.8, 98.78, 99.06, 99.23, 99.37, 99.43, 99.6, 99.67]

``python -m cnnbook.ablation --full`` trains the whole ladder on full MNIST and writes one record per
network under ``results/ablation/``, resuming where an earlier run stopped; ``--quick`` runs a small
version in a few minutes. The chapter notebook shows the committed full records.
"""

from .claims import CLAIMS as LADDER_CLAIMS
from .claims import error_reduction, flattened_size
from .records import FULL_RESULTS, full_records, predictions_array, read_record, record_name, write_record
from .rows import ROWS, Row, Schedule, row
from .runner import FULL, MODES, QUICK, Data, Mode, Piece, pieces, run_ladder, train_piece, vote

__all__ = [
    "CLAIMS",
    "FULL",
    "FULL_RESULTS",
    "MODES",
    "QUICK",
    "ROWS",
    "Data",
    "Mode",
    "Piece",
    "Row",
    "Schedule",
    "error_reduction",
    "flattened_size",
    "full_records",
    "pieces",
    "predictions_array",
    "read_record",
    "record_name",
    "row",
    "run_ladder",
    "train_piece",
    "vote",
    "write_record",
]


def __getattr__(name: str) -> list:
    """``CLAIMS``, what the errata collect: section 5.25's numbers, then section 5.24's advice as the sweeps
    (:mod:`cnnbook.ablation.sweeps`) measured it. Imported on first use: importing ``.sweeps`` above would
    make ``python -m cnnbook.ablation.sweeps`` run that module twice."""
    if name == "CLAIMS":
        from .sweeps import CLAIMS as sweep_claims

        return LADDER_CLAIMS + sweep_claims
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
