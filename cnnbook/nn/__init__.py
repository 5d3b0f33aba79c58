"""A small convolutional-network engine in NumPy: layers with forward and backward, a Network, SGD.

Layout: **channels-last**. Images are ``(N, H, W, C)`` arrays (MNIST may also be given as
``(N, 28, 28)``), convolution weights ``(kh, kw, C_in, C_out)``, dense weights ``(in, out)``.
This differs from :mod:`cnnbook.conv` and PyTorch, which put channels first: with channels last a
convolution is one matrix product whose result is already the next layer's input, which is what
makes a training step here about as fast as PyTorch's on a CPU. ``np.moveaxis(x, 1, -1)`` turns a
channels-first batch into a channels-last one.

Everything is float32 and deterministic under a seed; no Python loop runs over images or pixels
(only over the few kernel offsets).

A layer may hold layers (:class:`Sequential`, :class:`Parallel` for a sum of branches such as a
residual block); parameters are reached by one walk and named by their path (``"0.weight"``,
``"3.branches.1.0.bias"``); each layer declares which of its parameters weight decay applies to
(``decayed``: weights, not biases). State that is saved but not trained (:class:`BatchNorm2D`'s
running statistics) lives in a layer's ``buffers``; :func:`residual_block` and :func:`small_resnet`
build residual networks with batch normalisation.

>>> import numpy as np
>>> from cnnbook.nn import nielsen_two_conv
>>> net = nielsen_two_conv(seed=0)
>>> net.forward(np.zeros((2, 28, 28), dtype=np.float32)).shape
(2, 10)
"""

from .activations import ReLU, Sigmoid, Tanh
from .containers import Identity, Parallel, Sequential
from .convolution import Conv2D, conv2d_reference
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .ensemble import ensemble_predict, majority_vote
from .flatten import Flatten
from .gradcheck import layer_gradient_errors, network_gradient_errors, numerical_gradient, relative_error
from .init import glorot_uniform, he_normal
from .layer import LAYER_TYPES, Layer, Parameter
from .loss import SoftmaxCrossEntropy, log_softmax, softmax
from .models import nielsen_two_conv, small_resnet
from .network import Evaluation, History, Network
from .normalization import BatchNorm1D, BatchNorm2D
from .optim import SGD
from .pooling import AvgPool2D, MaxPool2D, max_pool2d_backward_reference, max_pool2d_reference
from .residual import residual_block

__all__ = [
    "AvgPool2D",
    "BatchNorm1D",
    "BatchNorm2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Evaluation",
    "Flatten",
    "History",
    "Identity",
    "LAYER_TYPES",
    "Layer",
    "MaxPool2D",
    "Network",
    "Parallel",
    "Parameter",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "conv2d_reference",
    "ensemble_predict",
    "glorot_uniform",
    "majority_vote",
    "he_normal",
    "layer_gradient_errors",
    "log_softmax",
    "max_pool2d_backward_reference",
    "max_pool2d_reference",
    "network_gradient_errors",
    "nielsen_two_conv",
    "numerical_gradient",
    "relative_error",
    "residual_block",
    "small_resnet",
    "softmax",
]
