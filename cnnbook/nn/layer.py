"""The interface every layer follows, the walk over layers inside layers, and the shape check.

A layer maps a batch forward (``forward``) and a gradient backward (``backward``). Layers with
weights keep them in ``params`` and, after ``backward``, their gradients under the same names in
``grads``; the optimiser reads both and updates ``params`` in place. A layer may also hold other
layers (its ``children``, e.g. :class:`~cnnbook.nn.containers.Sequential`); every parameter is then
reached by one recursive walk, :meth:`Layer.named_parameters`, which names it by its path:
``"weight"`` in a plain layer, ``"0.weight"`` in a network's first layer, ``"3.branches.1.0.bias"``
in the first layer of a block's second branch. State that is saved with the network but not trained
(batch normalisation's running statistics) lives in ``buffers``: the optimiser never sees it, and
:meth:`Layer.named_buffers` walks it the same way.

Every subclass is registered by name in :data:`LAYER_TYPES` as it is defined, so that a saved
network can be rebuilt from its description (:meth:`Layer.spec` and :meth:`Layer.from_spec`).

Layout: images are **channels-last**, ``(N, H, W, C)``. Chapter 1 (:mod:`cnnbook.conv`) and PyTorch
put channels first; the engine does not, because with channels last a convolution's matrix product
already *is* the next layer's input (no transposes) and im2col copies contiguous runs of channels.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from cnnbook.validate import Pair, as_pair

__all__ = [
    "LAYER_TYPES",
    "Layer",
    "Pair",
    "Parameter",
    "ShapePattern",
    "as_pair",
    "check_shape",
    "format_pattern",
    "named_parameters",
]

ShapePattern = tuple[int | str, ...]

#: Every layer class by name, filled as classes are defined (``Layer.__init_subclass__``); ``Network.load``
#: rebuilds layers from it. Classes whose name starts with ``_`` (shared bases) are not registered.
LAYER_TYPES: dict[str, type[Layer]] = {}


def format_pattern(pattern: ShapePattern) -> str:
    """``("N", "H", "W", 3) -> "(N, H, W, 3)"``."""
    return "(" + ", ".join(str(p) for p in pattern) + ")"


def check_shape(layer: str, x: np.ndarray, pattern: ShapePattern) -> None:
    """Raise a ValueError unless ``x.shape`` matches ``pattern`` (ints must match; names match anything).

    >>> check_shape("Conv2D", np.zeros((8, 28, 28)), ("N", "H", "W", 3))
    Traceback (most recent call last):
    ...
    ValueError: Conv2D expected input of shape (N, H, W, 3), got (8, 28, 28)
    """
    shape = np.shape(x)
    if len(shape) != len(pattern) or any(isinstance(p, int) and size != p for size, p in zip(shape, pattern)):
        raise ValueError(f"{layer} expected input of shape {format_pattern(pattern)}, got {tuple(shape)}")


class Parameter(NamedTuple):
    """One parameter as the walk finds it: its path ``name``, the ``layer`` that owns it, its ``key`` there."""

    name: str
    layer: Layer
    key: str

    @property
    def value(self) -> np.ndarray:
        """The array itself (not a copy): ``layer.params[key]``."""
        return self.layer.params[self.key]

    @property
    def grad(self) -> np.ndarray:
        """Its gradient from the last ``backward``: ``layer.grads[key]``."""
        return self.layer.grads[self.key]

    @property
    def decayed(self) -> bool:
        """Whether weight decay applies to it, as its layer declares (``layer.decayed``)."""
        return self.key in self.layer.decayed


class Layer:
    """Base class: ``y = forward(x, training)``, then ``grad_x = backward(grad_y)``.

    ``backward`` uses what the last ``forward`` stored, so call them in pairs. Passing
    ``input_grad=False`` lets a first layer skip the gradient with respect to its input, which
    nothing needs (and which is a large part of a convolution's cost); it then returns ``None``.

    A layer that holds layers returns them from ``children`` and, if its constructor does not take
    plain values, rebuilds them in ``from_config``; the walk, ``to``, ``set_rng`` and saving then
    reach them without further code.
    """

    #: Number of axes the layer takes (4 for image layers, 2 for Dense; None: any).
    input_ndim: int | None = None
    #: The keys of ``params`` that weight decay applies to. Layers with weights list them here;
    #: biases stay out (decaying them does not help and is not what Nielsen or PyTorch users expect).
    decayed: frozenset[str] = frozenset()
    #: Whether the layer's training output for one image depends on the other images of the batch (batch
    #: normalization's statistics do): such a network's training step is not split (:mod:`cnnbook.nn.split`).
    batch_coupled: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return
        known = LAYER_TYPES.get(cls.__name__)
        # A class defined again (a re-run notebook cell, a reload) replaces itself; a different class that
        # happens to share a name does not steal it (``spec`` then refuses to save the newcomer).
        if known is None or (known.__module__, known.__qualname__) == (cls.__module__, cls.__qualname__):
            LAYER_TYPES[cls.__name__] = cls

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        #: Saved, converted by ``to``, but neither trained nor decayed (e.g. BatchNorm's running statistics).
        self.buffers: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Output for the batch ``x``; ``training`` switches on training-only behaviour (dropout)."""
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Gradient of the loss with respect to the last input, given the one with respect to the output."""
        raise NotImplementedError

    # -- layers inside layers ----------------------------------------------------------------------

    def children(self) -> dict[str, Layer]:
        """The layers this one holds, by the name they have in parameter paths (none for a plain layer)."""
        return {}

    def named_parameters(self, prefix: str = "") -> list[Parameter]:
        """Every parameter of this layer and of the layers inside it, depth first, named ``prefix + path``.

        >>> from cnnbook.nn import Dense
        >>> [p.name for p in Dense(3, 2, rng=0).named_parameters("4.")]
        ['4.weight', '4.bias']
        """
        found: list[Parameter] = []
        self._collect_parameters(prefix, found)
        return found

    def _collect_parameters(self, prefix: str, found: list[Parameter]) -> None:
        # Appending to one list, not chaining generators: the optimiser walks the tree at every step.
        for key in self.params:
            found.append(Parameter(prefix + key, self, key))
        for name, child in self.children().items():
            child._collect_parameters(f"{prefix}{name}.", found)

    def named_buffers(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Every buffer (the arrays, not copies) of this layer and the layers inside it, by path, depth first."""
        # getattr: a layer written before buffers existed may set its own dicts without calling Layer.__init__.
        found = {prefix + key: value for key, value in getattr(self, "buffers", {}).items()}
        for name, child in self.children().items():
            found.update(child.named_buffers(f"{prefix}{name}."))
        return found

    def set_rng(self, rng: np.random.Generator) -> None:
        """Give the layer a random generator for training-time noise (only Dropout uses one).

        A layer with children gives each its own generator drawn from ``rng``, in order.
        """
        for child in self.children().values():
            child.set_rng(np.random.default_rng(rng.integers(2**63)))

    def to(self, dtype: np.dtype | type) -> Layer:
        """Convert the parameters and buffers (and those of the layers inside) to ``dtype``; returns the layer."""
        self.params = {name: value.astype(dtype) for name, value in self.params.items()}
        self.grads = {}
        if getattr(self, "buffers", None):
            self.buffers = {name: value.astype(dtype) for name, value in self.buffers.items()}
        for child in self.children().values():
            child.to(dtype)
        return self

    # -- saving ------------------------------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer (used by ``Network.save``; JSON-able)."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """A new layer of this class from ``config()``'s output (layers holding layers override this)."""
        return cls(**config)

    def spec(self) -> dict[str, Any]:
        """``{"type": class name, "config": config()}``: what ``Layer.from_spec`` rebuilds the layer from."""
        name = type(self).__name__
        if LAYER_TYPES.get(name) is not type(self):
            raise ValueError(
                f"cannot describe {type(self).__qualname__} from {type(self).__module__}: the layer type "
                f"name {name!r} belongs to {LAYER_TYPES.get(name)!r}; give the class another name"
            )
        return {"type": name, "config": self.config()}

    @staticmethod
    def from_spec(spec: dict[str, Any]) -> Layer:
        """Rebuild a layer from ``spec()``'s output; a ValueError for a type no class is registered under."""
        if spec["type"] not in LAYER_TYPES:
            raise ValueError(f"unknown layer type {spec['type']!r}; known: {sorted(LAYER_TYPES)}")
        return LAYER_TYPES[spec["type"]].from_config(spec["config"])

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({args})"


def named_parameters(layers: Iterable[Layer]) -> list[Parameter]:
    """Every parameter of a sequence of layers, named ``"<index>.<path in the layer>"`` (e.g. ``"0.weight"``)."""
    found: list[Parameter] = []
    for index, layer in enumerate(layers):
        layer._collect_parameters(f"{index}.", found)
    return found
