"""Names along a drama dataset's own dimensions (light: the summary and figures read them
without loading the compile step's pydantic and scipy)."""

SOURCES = ("coins", "passes", "ad_unlocks", "ad_share", "licence")   # revenue sources
METHODS = ("coins", "pass", "ad")                                    # ways to unlock an episode
PASSES = ("weekly", "monthly")                                       # pass durations
