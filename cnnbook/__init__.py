"""cnnbook: the library behind the executable textbook on convolutional neural networks.

Modules map to chapters:

1. :mod:`cnnbook.conv` (convolution, its loop version, output sizes, transposed convolution),
   :mod:`cnnbook.edges`, :mod:`cnnbook.shapes`
2. :mod:`cnnbook.params`, :mod:`cnnbook.sharing` (parameter sharing, local connectivity)
3. :mod:`cnnbook.arithmetic` (padding modes, stride, dilation, the conv-arithmetic picture)
4. :mod:`cnnbook.pooling` (pooling with gradients, spatial pyramid pooling)
5. :mod:`cnnbook.efficient` (1x1 convolutions, Inception, bottlenecks, depthwise-separable counts)
6. :mod:`cnnbook.upsampling` (checkerboard overlaps, resize-convolution)
7. :mod:`cnnbook.nn` (the NumPy training engine) and :mod:`cnnbook.data` (MNIST)
8. :mod:`cnnbook.ablation` (the MNIST ladder: rows, a resumable runner, result records)

Around them: :mod:`cnnbook.errata` (every number the sources state, recomputed),
:mod:`cnnbook.homework` (the exercise format, ``check``, the generator and the grader),
:mod:`cnnbook.display` and :mod:`cnnbook.plots` (what notebooks show), and the book's build
helpers :mod:`cnnbook.nbclean`, :mod:`cnnbook.offline` and :mod:`cnnbook.bookext`.
"""

__version__ = "0.1.0"
