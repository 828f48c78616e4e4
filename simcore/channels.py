"""The channels that bring activated users (DESIGN.md vocabulary), in dataset order.

paid_ads: video ads with the Play anchor (target-CPA or CPM bidding); creator: creator videos
with the anchor, paid per 1,000 views; search and profile: organic entrances; games_center:
Mini Games Center recommendations, growing with recent activations; share: social fission.
"""

CHANNELS = ("paid_ads", "creator", "search", "profile", "games_center", "share")
PAID_CHANNELS = ("paid_ads", "creator")   # the channels that cost money
