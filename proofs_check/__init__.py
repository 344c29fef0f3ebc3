"""Claim registry, verification methods V1-V8, runner, reports and the ``a2ad`` CLI."""


def __getattr__(name: str):
    # ``__version__`` on first use: importlib.metadata costs ~30 ms, which `a2ad --help` need not pay.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("a2a-dynamics")
    except metadata.PackageNotFoundError:  # running from a source tree without installing
        version = "0.0.0+source"
    globals()["__version__"] = version
    return version
