"""The worker-environment check: same package and model-library versions as the caller."""

from __future__ import annotations

from importlib import metadata

# What a trial's result depends on: the package itself and the libraries that fit and score.
TRACKED_PACKAGES = (
    "automl-tracked",
    "scikit-learn",
    "lightgbm",
    "optuna",
    "pandas",
    "numpy",
    "statsmodels",
)
MISSING = "not installed"


def library_versions() -> dict[str, str]:
    """The installed version of each tracked package here (``MISSING`` when absent)."""
    found: dict[str, str] = {}
    for name in TRACKED_PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = MISSING
    return found


def compare_versions(expected: dict[str, str], found: dict[str, str]) -> str:
    """A sentence naming each package whose version differs, or '' when all match."""
    diffs = [
        f"{name} {found.get(name, MISSING)} (the caller has {want})"
        for name, want in expected.items()
        if found.get(name, MISSING) != want
    ]
    return "; ".join(diffs)
