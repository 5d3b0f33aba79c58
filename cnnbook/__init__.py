"""cnnbook: the library behind the executable textbook on convolutional neural networks.

Modules map to chapters (the table is :data:`cnnbook.book.chapters.CHAPTERS`):

1. :mod:`cnnbook.conv` (convolution, its loop version, output sizes, transposed convolution),
   :mod:`cnnbook.edges`, :mod:`cnnbook.shapes`, :mod:`cnnbook.counts` (parameter and operation counts)
2. :mod:`cnnbook.sharing` (parameter sharing, equivariance, local connectivity)
3. :mod:`cnnbook.padding` (padding modes, stride, dilation, the conv-arithmetic picture)
4. :mod:`cnnbook.pooling` (pooling with gradients, spatial pyramid pooling)
5. :mod:`cnnbook.one_by_one` (1x1 convolutions, Inception, bottlenecks, depthwise-separable counts)
6. :mod:`cnnbook.transposed` (checkerboard overlaps, resize-convolution)
7. :mod:`cnnbook.nn` (the NumPy training engine) and :mod:`cnnbook.data` (MNIST)
8. :mod:`cnnbook.ablation` (the MNIST ladder: rows, a resumable runner, records, the source's schedule)

Shared by all of them: :mod:`cnnbook.validate` (argument checks) and :mod:`cnnbook.files` (atomic
writes). Apart from them: :mod:`cnnbook.book` (the table of chapters, the errata, what notebooks
display, the book's build) and :mod:`cnnbook.homework` (the exercise format, ``check``, the generator
and the grader).
"""

__version__ = "0.6.0"  # the one place the version is written (pyproject.toml reads it); see CHANGELOG.md
