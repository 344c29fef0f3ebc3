"""Claim registry, verification methods V1-V8, runner, reports and the ``a2ad`` CLI."""
from importlib import metadata

try:
    __version__ = metadata.version("a2a-dynamics")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
