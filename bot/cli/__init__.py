"""The ``livredor`` command line: run, check, backup, export/import, demo."""
