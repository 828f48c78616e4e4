"""The channels that bring activated users (DESIGN.md vocabulary), in dataset order.

paid_ads: video ads with the Play anchor (target-CPA or CPM bidding); creator: creator videos
with the anchor; search and profile: organic entrances; profile_return: lapsed users coming
back through the profile entrance (reactivations, not new users); games_center: Mini Games
Center recommendations, growing with recent activations; share: social fission.
"""

CHANNELS = ("paid_ads", "creator", "search", "profile", "profile_return", "games_center",
            "share")
PAID_CHANNELS = ("paid_ads", "creator")   # the channels that cost money
