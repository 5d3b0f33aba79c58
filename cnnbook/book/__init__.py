"""The book's own machinery, apart from the modules the chapters teach from.

* :mod:`~cnnbook.book.chapters`: the table of chapters (number, slug, title, modules).
* :mod:`~cnnbook.book.errata`: the claims of the sources and how they are checked.
* :mod:`~cnnbook.book.display` and :mod:`~cnnbook.book.plots`: what notebooks show (tables, glued
  numbers, images).
* :mod:`~cnnbook.book.nbclean`: notebooks committed without outputs; :mod:`~cnnbook.book.offline`:
  the scripts an offline book needs; :mod:`~cnnbook.book.extension`: the Sphinx extension of the HTML.
"""
