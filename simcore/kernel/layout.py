"""Index layout shared by the compile step and the kernel: parameter slots and output rows.

The kernel takes one float64 parameter vector (one draw's parameter set) and fills one
accumulator block of shape (N_VARS, horizon + 1) per chunk of users. These constants are the
only contract between ``simcore.kinds.game.plan`` (which fills the vector) and
``simcore.kernel.users``.
"""

# --- parameter vector slots -------------------------------------------------------------
RET_ALPHA = 0          # retention Beta shape alpha (> 0)
RET_BETA = 1           # retention Beta shape beta (> 0)
RET_C = 2              # discrete-Weibull exponent c (1 = shifted-beta-geometric)
PLAY_PROB = 3          # probability per day that a not-yet-churned user plays (intermittent play)
SESS_EXTRA_MEAN = 4    # mean sessions per active day beyond the first (>= 0)
SESS_SHAPE = 5         # Gamma shape of the per-user session rate; 0 = homogeneous users
REWARDED_RATE = 6      # filled rewarded impressions per session (opportunities x fill)
INTERSTITIAL_RATE = 7  # filled interstitial opportunities per session (opportunities x fill)
INTERSTITIAL_CAP = 8   # interstitials shown per user per day at most; < 0 = no cap
IAP_R = 9              # purchase-rate Gamma shape r (0 = no purchases)
IAP_ALPHA = 10         # purchase-rate Gamma rate alpha [active days]
GG_P = 11              # Gamma-Gamma spend: shape p of a transaction
GG_Q = 12              # Gamma-Gamma spend: shape q of the per-user rate nu
GG_GAMMA = 13          # Gamma-Gamma spend: rate gamma of nu [USD]
N_PARAMS = 14

# --- accumulator rows (per age) ----------------------------------------------------------
V_ACTIVE = 0           # users active at this age
V_SESSIONS = 1         # sessions
V_REWARDED = 2         # rewarded impressions shown
V_INTERSTITIAL = 3     # interstitial impressions shown
V_PURCHASES = 4        # purchases (transactions)
V_IAP_GROSS = 5        # gross purchase value, consumer price [USD]
V_NEW_PAYERS = 6       # users making their first purchase at this age
N_VARS = 7
