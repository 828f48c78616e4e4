"""The game's run dataset: kernel sums by channel, cohort and age assembled into the
variables of the dataset contract (``simcore.data.dataset``) and the game's own breakdowns."""

from __future__ import annotations

import numpy as np
import xarray as xr

from simcore.data.dataset import add_outcomes, add_parameters, scenario_attrs
from simcore.kernel import layout as K
from simcore.kinds.game.plan import net_revenue_of
from simcore.model.channels import CHANNELS


def build_dataset(sums: np.ndarray, spend: np.ndarray, activations: np.ndarray,
                  money: np.ndarray, plan, loaded, values: dict | None = None) -> xr.Dataset:
    """Assemble kernel sums [draw, channel, cohort, var, age], spend and activations
    [draw, channel, cohort] into the dataset.

    ``money`` [draw, 4] holds each draw's USD per rewarded and per interstitial impression,
    its net share of purchase value and the creators' revenue share (0 when paid per view);
    ``values`` the sampled uncertain parameters [draw].
    """
    by_channel = sums
    sums = by_channel.sum(axis=1)
    n_draws, n_cohorts, _, n_ages = sums.shape
    dca = ("draw", "cohort", "age")
    per_draw = money[:, None, :, None, None]
    revenue_cohort = net_revenue_of(by_channel, per_draw[:, :, 0], per_draw[:, :, 1],
                                    per_draw[:, :, 2])
    revenue_channel = revenue_cohort.sum(axis=2)
    creator = CHANNELS.index("creator")
    revenue_share_cost = revenue_cohort[:, creator] * money[:, 3, None, None]
    spend = spend.copy()
    spend[:, creator] += revenue_share_cost.sum(axis=2)
    per_draw = money[:, :, None, None]
    rewarded = sums[:, :, K.V_REWARDED]
    interstitial = sums[:, :, K.V_INTERSTITIAL]
    revenue_iaa = rewarded * per_draw[:, 0] + interstitial * per_draw[:, 1]
    revenue_iap = sums[:, :, K.V_IAP_GROSS] * per_draw[:, 2]

    def var(dims, data, units, long_name):
        return dims, data, {"units": units, "long_name": long_name}

    ds = xr.Dataset(
        {
            "spend": var(("draw", "cohort"), spend.sum(axis=1), "USD",
                         "spend on the cohort, all channels"),
            "spend_by_channel": var(("draw", "channel", "cohort"), spend, "USD",
                                    "spend on the cohort by channel"),
            "spend_revenue_share": var(dca, revenue_share_cost, "USD", "creators' share of "
                                       "their users' net revenue, paid at the age it is "
                                       "earned (included in spend)"),
            "activations": var(("draw", "cohort"), activations.sum(axis=1), "users",
                               "activated users (first play) in the cohort, all channels"),
            "activations_by_channel": var(("draw", "channel", "cohort"), activations, "users",
                                          "activated users in the cohort by channel"),
            "revenue_by_channel": var(("draw", "channel", "age"), revenue_channel, "USD",
                                      "net revenue at age of all cohorts, by the channel that "
                                      "brought the users"),
            "active_users": var(dca, sums[:, :, K.V_ACTIVE], "users", "users active at age"),
            "sessions": var(dca, sums[:, :, K.V_SESSIONS], "sessions", "sessions at age"),
            "ad_impressions": var(dca, rewarded + interstitial, "impressions",
                                  "ad impressions shown at age (rewarded + interstitial)"),
            "ad_impressions_rewarded": var(dca, rewarded, "impressions",
                                           "rewarded ad impressions shown at age"),
            "purchases": var(dca, sums[:, :, K.V_PURCHASES], "purchases",
                             "in-app purchases at age"),
            "revenue_iaa": var(dca, revenue_iaa, "USD",
                               "ad revenue at age, net to the developer"),
            "revenue_iap": var(dca, revenue_iap, "USD", "purchase revenue at age, net to the "
                               "developer (after tax, platform fee and refunds)"),
            "payers": var(dca, sums[:, :, K.V_NEW_PAYERS], "users",
                          "users making their first purchase at age (cumulative sum = payers)"),
        },
        coords={
            "draw": ("draw", np.arange(n_draws), {"long_name": "Monte Carlo draw"}),
            "cohort": ("cohort", np.arange(n_cohorts),
                       {"units": "days", "long_name": "acquisition day (0-based)"}),
            "channel": ("channel", list(CHANNELS), {"long_name": "source of the users"}),
            "age": ("age", np.arange(n_ages),
                    {"units": "days", "long_name": "days since activation"}),
        },
        attrs={
            **scenario_attrs(loaded),
            "retention_model": plan.retention.model,
            "retention_alpha": plan.retention.alpha,
            "retention_beta": plan.retention.beta,
            "retention_c": plan.retention.c,
        },
    )
    return add_outcomes(add_parameters(ds, loaded, values))
