"""The MNIST ablation ladder of source 003, section 5.25 (Nielsen's chapter 6), trained by cnnbook.nn.

>>> from cnnbook.ablation import ROWS
>>> [row.source_accuracy for row in ROWS]
[97.8, 98.78, 99.06, 99.23, 99.37, 99.43, 99.6, 99.67]

``python -m cnnbook.ablation --full`` trains the whole ladder on full MNIST and writes one record per
network under ``results/ablation/``, resuming where an earlier run stopped; ``--quick`` runs a small
version in a few minutes. The chapter notebook shows the committed full records.
"""

from .claims import CLAIMS, error_reduction, flattened_size
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
