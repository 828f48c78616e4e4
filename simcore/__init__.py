"""simcore: Monte Carlo economics of mini-games on TikTok Minis.

Public API::

    loaded = simcore.load_scenario("scenarios/reborn_emperor_us.toml", ["campaign.days=7"])
    ds = simcore.run(loaded)            # xarray.Dataset of ROAS distributions
    print(simcore.format_summary(simcore.summarize(ds)))
"""

__version__ = "0.1.0"

from simcore.errors import ScenarioError  # noqa: E402
from simcore.scenario import load_scenario  # noqa: E402
from simcore.simulate import run  # noqa: E402
from simcore.summary import format_summary, summarize  # noqa: E402

__all__ = ["ScenarioError", "__version__", "format_summary", "load_scenario", "run",
           "summarize"]
