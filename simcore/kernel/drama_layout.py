"""Index layout shared by the drama compile step (``simcore.kinds.drama.plan``) and the drama
kernel (``simcore.kernel.drama``): parameter slots and accumulator rows."""

# --- parameter vector slots -------------------------------------------------------------
EPISODES = 0           # episodes in the series
FREE = 1               # free episodes (the paywall stands before episode FREE + 1)
THETA_A = 2            # Beta shape a of the continuation propensity; 0 = homogeneous
THETA_B = 3            # Beta shape b
LOG_THETA = 4          # log of the (homogeneous) continuation propensity, used when a = 0
PACE_EXTRA = 5         # mean episodes per active day beyond the first (>= 0)
PACE_SHAPE = 6         # Gamma shape of the per-viewer extra pace; 0 = homogeneous
WATCH_PROB = 7         # chance per day after day 0 that a viewer still in the series watches
COINS_P = 8            # paywall: chance to buy coins (viewers paying the list price)
PASS_P = 9             # paywall: chance to buy a pass (list price)
AD_P = 10              # paywall: chance to unlock with rewarded ads
COINS_P_TT = 11        # paywall: chance to buy coins (TikTok pay, after elasticity)
PASS_P_TT = 12         # paywall: chance to buy a pass (TikTok pay, after elasticity)
TT_SHARE = 13          # share of viewers paying through TikTok pay
WEEKLY_SHARE = 14      # share of pass buyers taking the weekly pass
RENEWAL = 15           # chance an expired pass is renewed when next needed
REPURCHASE = 16        # chance a coin buyer who runs short buys coins again
WEEKLY_USD = 17        # list price of the weekly pass [USD]
MONTHLY_USD = 18       # list price of the monthly pass [USD]
WEEKLY_DAYS = 19       # days a weekly pass runs
MONTHLY_DAYS = 20      # days a monthly pass runs
N_PARAMS = 21

# --- accumulator rows (per age) ----------------------------------------------------------
VIEWERS = 0            # viewers who watched at least one episode at this age
EPISODES_WATCHED = 1   # episodes watched
FREE_VIEWS = 2         # views of free episodes (the ad-share base)
UNLOCK_COINS = 3       # episodes unlocked with coins
UNLOCK_PASS = 4        # episodes watched on a pass
UNLOCK_AD = 5          # episodes unlocked by a rewarded ad (= rewarded ads shown)
COINS_BOUGHT = 6       # coins bought
COINS_SPENT = 7        # coins spent on episodes
PACKS = 8              # coin packs bought
PACKS_USD_TT = 9       # list value of packs bought through TikTok pay [USD]
PACKS_USD = 10         # value of packs bought at the list price [USD]
PASSES_WEEKLY = 11     # weekly passes bought (renewals included)
PASSES_MONTHLY = 12    # monthly passes bought (renewals included)
PASSES_USD_TT = 13     # list value of passes bought through TikTok pay [USD]
PASSES_USD = 14        # value of passes bought at the list price [USD]
NEW_PAYERS = 15        # viewers making their first purchase at this age
PAYWALL = 16           # paywall choices made (viewers facing the paywall)
N_ROWS = 17
