"""The livre d'or as a document: read (the seed's layout, our Markdown, CSV and JSON imports),
written (Markdown, HTML, CSV, JSON) and made into a file. Its rows are ``storage``'s
(``storage.stores.book``, ``storage.snapshot``); everything about its text is here.

- ``parse``: a book's text back into entries (the seed's plain text, our Markdown), and the
  rules an entry follows;
- ``formats``: the writers, one per format (the HTML one renders ``templates/book.html.j2``);
- ``imports``: any supported file back into entries (``livredor import``);
- ``files``: the book of this event as a file (``livredor export``, ``/export``).
"""
