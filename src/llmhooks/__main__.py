"""``python -m llmhooks`` runs the ``llmhooks`` command."""

from __future__ import annotations

import sys

from llmhooks.cli import main

sys.exit(main())
