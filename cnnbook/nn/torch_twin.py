"""The PyTorch twin of an engine layer, for the tests (PyTorch as an oracle) and the benchmarks (as a peer).

PyTorch is never a dependency of the book: it is imported only when :func:`torch_module` is called.
"""

from __future__ import annotations

import numpy as np

from .activations import ReLU
from .containers import Identity, Parallel, Sequential
from .convolution import Conv2D
from .dense import Dense
from .flatten import Flatten
from .layer import Layer
from .normalization import BatchNorm2D
from .pooling import AvgPool2D


def torch_module(layer: Layer, pairs: list | None = None):
    """The PyTorch (channels-first) module computing what ``layer`` computes, with its weights, statistics and
    dtype. Every (our layer, their module) pair holding parameters is appended to ``pairs``, if given, so a
    test can compare gradients layer by layer. A layer with no counterpart here is a TypeError."""
    import torch
    from torch import nn

    class Sum(nn.Module):
        """Parallel: the sum of the branches' outputs."""

        def __init__(self, branches: list[nn.Module]) -> None:
            super().__init__()
            self.branches = nn.ModuleList(branches)

        def forward(self, x):
            return sum(branch(x) for branch in self.branches)

    pairs = [] if pairs is None else pairs
    if isinstance(layer, Sequential):
        return nn.Sequential(*[torch_module(inner, pairs) for inner in layer.layers])
    if isinstance(layer, Parallel):
        return Sum([torch_module(branch, pairs) for branch in layer.branches])
    if isinstance(layer, AvgPool2D):
        return nn.AvgPool2d(layer.size, layer.stride)
    simple = {Identity: nn.Identity, ReLU: nn.ReLU, Flatten: nn.Flatten}  # Flatten: after a 1x1 map, same order
    if type(layer) in simple:
        return simple[type(layer)]()
    if isinstance(layer, Conv2D):
        module = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
        weight = layer.params["weight"].transpose(3, 2, 0, 1)  # (kh, kw, C, K) -> (K, C, kh, kw)
    elif isinstance(layer, Dense):
        module, weight = nn.Linear(layer.in_features, layer.out_features), layer.params["weight"].T
    elif isinstance(layer, BatchNorm2D):
        module, weight = nn.BatchNorm2d(layer.channels, layer.eps, layer.momentum), layer.params["weight"]
    else:
        raise TypeError(f"no PyTorch counterpart for {layer!r}")
    module = module.to(torch.float64 if layer.params["weight"].dtype == np.float64 else torch.float32)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
        module.bias.copy_(torch.from_numpy(np.ascontiguousarray(layer.params["bias"])))
        for name, value in layer.buffers.items():
            getattr(module, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    pairs.append((layer, module))
    return module
