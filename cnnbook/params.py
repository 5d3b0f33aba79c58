"""Parameter counts, computed from shapes (chapters 1, 2 and 5)."""

from __future__ import annotations


def _positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def conv_params(k: int, c_in: int, c_out: int, bias: bool = True) -> int:
    """Weights (and biases) of a conv layer with shared parameters: ``(k*k*c_in + 1) * c_out``."""
    _positive(k=k, c_in=c_in, c_out=c_out)
    return (k * k * c_in + int(bias)) * c_out


def dense_params(n_in: int, n_out: int, bias: bool = True) -> int:
    """Weights (and biases) of a fully connected layer: ``(n_in + 1) * n_out``."""
    _positive(n_in=n_in, n_out=n_out)
    return (n_in + int(bias)) * n_out


def _claims():
    from cnnbook.errata import Claim

    return [
        Claim("003", "5.3.4", "a conv layer with I=3 inputs, O=12 outputs and a 3x3 kernel (K=9) has I*O*K parameters",
              3 * 12 * 9, lambda: conv_params(3, 3, 12),
              "I*O*K counts the weights only; each of the O filters also has a bias, so it is I*O*K + O"),
    ]


CLAIMS = _claims()
