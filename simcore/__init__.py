"""simcore: Monte Carlo economics of mini-games on TikTok Minis.

Public API::

    loaded = simcore.load_scenario("scenarios/reborn_emperor_us.toml", ["campaign.days=7"])
    ds = simcore.run(loaded)            # xarray.Dataset of ROAS distributions
    print(simcore.format_summary(simcore.summarize(ds)))
    grid = simcore.sweep(loaded, {"campaign.daily_budget_usd": [1000, 5000, 10000]})
"""

__version__ = "0.1.0"

# Imported on first use, so the CLI answers --help and input errors without loading Numba.
_LAZY = {
    "ScenarioError": "simcore.errors",
    "load_scenario": "simcore.scenario",
    "run": "simcore.engine.run",
    "sweep": "simcore.studies.sweeps",
    "summarize": "simcore.text.summary",
    "format_summary": "simcore.text.summary",
    "read_observed": "simcore.data.observed",
    "calibrate": "simcore.studies.calibration",
    "format_calibration": "simcore.text.calibration",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simcore' has no attribute {name!r}")
