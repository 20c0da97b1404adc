"""The llmhooks version: the one place it is written.

Hatchling reads it for the package metadata (``[tool.hatch.version]`` in pyproject.toml),
``llmhooks.__version__`` and ``llmhooks --version`` import it.
"""

__version__ = "0.1.0"
