"""Micro-drama series on TikTok Minis: episodes, paywall, coins, passes, rewarded-ad unlocks,
the platform deal (licence, ad share) and the series P&L.

``simcore.run`` reaches it through the registry (``kind.KIND``) for ``[title] kind =
"drama"``; the modules each own one step: ``plan`` (scenario -> kernel numbers), ``simulate``
(acquisition and the kernel), ``dataset`` (assembly), ``funnel`` (closed forms), ``summary``,
``plots`` and ``report``. May import figures and everything below.
"""
