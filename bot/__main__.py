"""``python -m bot``: the same CLI as ``livredor``."""

import sys

from bot.cli.main import main

sys.exit(main())
