"""cnnbook: the library behind the executable textbook on convolutional neural networks.

Modules map to chapters: :mod:`cnnbook.conv` and :mod:`cnnbook.edges` (chapter 1),
:mod:`cnnbook.shapes` and :mod:`cnnbook.params` (layer shapes and parameter counts),
:mod:`cnnbook.homework` (the exercise format, ``check`` and the generator of ``exercises/``).
"""

__version__ = "0.1.0"
