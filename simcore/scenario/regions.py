"""Default market assumptions by region, as levels relative to the US, for multi-market runs.

A scenario's values describe its own ``campaign.region``; in a market of region R the unit
cost (CPA or CPM), the eCPMs and the purchase values are scaled by index[R] / index[base],
and the tax rate is R's. Every level here is an assumption to override per title (a market's
``set`` table), informed by public benchmarks:
- cost: mobile-game CPI and in-feed CPM are highest in the US and Japan, about a third in
  Brazil, Turkey and Thailand and a quarter in Indonesia and Vietnam (public UA benchmark
  reports 2023-2025 show these ratios, not exact values);
- eCPM: rewarded-video eCPMs in mediation reports: JP ~80 % of US, SA ~50 %, BR/TR/TH
  20-25 %, ID/VN ~15 %;
- purchase value (price level): app-store price tiers by country, relative to US prices;
- tax: VAT/GST included in consumer prices, as a share of the price v / (1 + v): JP 10 %,
  ID 11 %, TH 7 %, VN 10 %, SA 15 %, TR 20 %, BR ~9.25 % (PIS/COFINS on digital services);
  US sales tax is added on top of the price, so 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RegionLevels:
    cost_index: float            # CPA / CPM relative to the US
    ecpm_index: float            # ad eCPMs relative to the US
    price_index: float           # purchase values relative to the US
    tax_rate: float              # share of the consumer price that is tax


REGION_LEVELS: dict[str, RegionLevels] = {
    "US": RegionLevels(1.00, 1.00, 1.00, 0.0),
    "JP": RegionLevels(1.10, 0.80, 1.05, 0.10 / 1.10),
    "ID": RegionLevels(0.25, 0.15, 0.35, 0.11 / 1.11),
    "TH": RegionLevels(0.35, 0.25, 0.45, 0.07 / 1.07),
    "VN": RegionLevels(0.25, 0.15, 0.35, 0.10 / 1.10),
    "BR": RegionLevels(0.35, 0.20, 0.40, 0.0925 / 1.0925),
    "SA": RegionLevels(0.60, 0.50, 0.80, 0.15 / 1.15),
    "TR": RegionLevels(0.30, 0.20, 0.30, 0.20 / 1.20),
}
