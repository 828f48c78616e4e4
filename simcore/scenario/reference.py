"""The scenario reference, generated from the schema, and commented scenario templates.

``format_reference(section)`` describes every section and key of a scenario file: type, unit,
valid range, default (or when the key is required), whether it may be a distribution, and
its meaning, all read from the pydantic models (``simcore.scenario.schema`` and ``.drama``);
the cross-field rules of the models' validators are stated beside each section. The same
rows give plain text for the terminal (``simcore schema [SECTION]``) and markdown for
``docs/scenario-reference.md`` (``python -m simcore.scenario.reference > docs/...``).

``new_scenario(kind, region, monetization)`` writes a commented TOML template (``simcore
new``) that validates and runs: starting values from public benchmarks for the US, moved
to the region's levels (``simcore.scenario.regions``), and every optional section commented out with
a one-line explanation.
"""

from __future__ import annotations

import difflib
import json
import textwrap
import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from simcore.errors import ScenarioError
from simcore.scenario.regions import REGION_LEVELS
from simcore.scenario.schema import REGIONS, RUN_SHAPE_KEYS, RUN_SHAPE_SECTIONS, Campaign, Scenario
from simcore.scenario.uncertainty import KINDS, range_text
from simcore.scenario.validation import field_bounds, model_of, numeric_kind

KINDS_OF_TITLE = ("game", "drama")
MONETIZATIONS = ("iaa", "iap", "hybrid")
DEFAULT_MONETIZATION = "iaa"        # a game template's revenue model when none is asked for
PSEUDO_SECTIONS = ("correlations", "distributions")   # described here, not schema models
WIDTH = 100                         # [characters] line width of the terminal reference
COMMENT_COLUMN = 36                 # [characters] where a template's end-of-line comments start

# --- what the models' docstrings and field descriptions cannot say ---------------------------

# one line per section whose model has no docstring
MEANINGS = {
    "title": "What is simulated: a mini-game or a micro-drama series, and its name.",
    "simulation": "How the Monte Carlo runs: root seed, number of draws, horizon, sampler.",
    "campaign": "The paid user-acquisition campaign: market, days, budget and how it bids.",
    "retention": "How long users keep playing: a retention model and its parameters or "
                 "D1 ... D90 targets.",
    "engagement": "How often an active user plays: sessions per active day.",
    "ads": "In-app ad (IAA) revenue: ad opportunities per session, fill rates, eCPMs.",
    "iap": "In-app purchase (IAP) revenue: who pays, how often, how much, and what comes off.",
    "correlations": "Rank correlations between uncertain assumptions (a Gaussian copula).",
    "distributions": "Uncertain values: a distribution table in place of a number.",
}

# when each section is given (read from check_kind and the monetization validator)
PRESENCE = {
    "title": "required",
    "simulation": "optional (every key has a default)",
    "campaign": "required",
    "retention": "games: required; dramas: refused",
    "engagement": "games: required; dramas: refused",
    "ads": "games: required when title.monetization = \"iaa\" or \"hybrid\", refused "
           "when \"iap\"; dramas: refused",
    "iap": "games: required when title.monetization = \"iap\" or \"hybrid\", refused "
           "when \"iaa\"; dramas: refused",
    "creator": "games: optional; dramas: refused",
    "organic": "optional (games and dramas)",
    "quality": "games: optional; dramas: refused",
    "share": "games: optional; dramas: refused",
    "markets": "games: optional, zero or more [[markets]] tables (none = campaign.region "
               "only); dramas: not supported yet",
    "rules": "games: optional, zero or more [[rules]] tables, evaluated daily in order; "
             "dramas: not supported yet",
    "series": "dramas: required; games: refused",
    "unlocks": "dramas: required when series.free_episodes < series.episodes, refused when "
               "every episode is free; games: refused",
    "deal": "dramas: required; games: refused",
    "correlations": "optional, zero or more [[correlations]] tables",
    "distributions": "any key marked 'distribution: yes' (or 'choice') below",
}

# keys that a switch makes required and keys of its other modes refused (the validators'
# calls of simcore.scenario.base.mode_keys)
MODE_KEYS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "campaign": {
        "bidding": {"target_cpa": ("target_cpa_usd",),
                    "cpm": ("cpm_usd", "anchor_ctr", "load_success", "first_play")},
        "budget_schedule": dict(Campaign.SCHEDULE_KEYS)},
    "creator": {"payment": {"per_1000_views": ("usd_per_1000_views",),
                            "revenue_share": ("revenue_share",)}},
}

# the default column of keys that other validators make required
REQUIRED_WHEN = {
    "title.monetization": "required when kind = \"game\"",
    "unlocks.weekly_pass_usd": "required when pass_probability > 0 and weekly_pass_share > 0",
    "unlocks.monthly_pass_usd": "required when pass_probability > 0 and weekly_pass_share < 1",
    "rules.factor": "required when action = \"scale\"",
    "rules.below": "give below or above",
    "rules.above": "give below or above",
}
for _key in ("alpha", "beta", "c", "d1", "d3", "d7", "d14", "d30", "d60", "d90"):
    REQUIRED_WHEN[f"retention.{_key}"] = "one form required (see rules)"
for _key in ("r", "alpha", "payer_share_d7", "payer_share_d30", "gamma", "arppu_d30_usd"):
    REQUIRED_WHEN[f"iap.{_key}"] = "one form required (see rules)"

# the cross-field rules of each section's validators, in words
RULES: dict[str, tuple[str, ...]] = {
    "title": (
        "kind = \"game\" needs [retention], [engagement] and monetization, and refuses "
        "[series], [unlocks], [deal].",
        "kind = \"drama\" needs [series] and [deal], and refuses monetization and the game "
        "sections ([retention], [engagement], [ads], [iap], [creator], [quality], [share], "
        "[[markets]], [[rules]]).",
        "monetization = \"iaa\" needs [ads]; \"iap\" needs [iap]; \"hybrid\" needs both; "
        "a section the monetization does not use is refused.",
    ),
    "simulation": (
        "These keys set the shape of the run: never a distribution, never in a market's set.",
    ),
    "campaign": (
        "With cpm bidding the cost of an activation is cpm_usd / 1000 / (anchor_ctr * "
        "load_success * first_play).",
        "pulse: pulse_length_days < pulse_period_days.",
        "list: daily_budgets_usd has one value per campaign day, each 0 <= value <= 1e8, "
        "at least one > 0.",
    ),
    "retention": (
        "Give either model parameters (alpha and beta, and c for bdw) or targets among "
        "d1 ... d90 (at least 3 for bdw, 2 for sbg), not both; c only with bdw.",
        "Targets must fall with age, and the first cannot exceed daily_play_probability; "
        "the loader fits the model to them.",
    ),
    "iap": (
        "Purchase rate: either r and alpha (Gamma-Poisson) or payer_share_d7 and "
        "payer_share_d30 (payer_share_d30 > payer_share_d7), not both.",
        "Transaction value: either gamma (Gamma-Gamma with p, q) or arppu_d30_usd, not both.",
        "price_tiers_usd: at least one price, each 0 < price <= 10000 USD, rising.",
        "Net revenue per purchase: price * (1 - tax_rate) * (1 - platform_fee) * "
        "(1 - refund_rate).",
    ),
    "goal": ("age <= simulation.horizon_days.",),
    "creator": ("views_p90 > views_median.",),
    "organic": (
        "For a drama only search_per_day, profile_per_day and days apply "
        "(games_center_scale and profile_return_probability must stay 0); deal.launch_spike "
        "scales them on release.",
    ),
    "quality": (
        "Each [quality.<channel>] table multiplies the scenario's values for the users "
        "that channel brings; retention needs the targets form of [retention].",
    ),
    "markets": (
        "Each region at most once; budget shares sum to 1.",
        "The scenario's values describe campaign.region; a market moves its unit cost, "
        "eCPMs and purchase values to its region's levels (simcore/regions.py), takes the "
        "region's tax rate and its share of the budget, creator videos and organic "
        "arrivals, then applies set.",
        "set keys are dotted \"section.key\" names; simulation.*, markets, rules and the "
        "run-shape keys (campaign.days, campaign.region, ...) cannot be set per market.",
    ),
    "rules": (
        "Exactly one of below and above; action = \"scale\" needs factor; action = "
        "\"stop\" takes neither factor nor max_daily_budget_usd.",
        "Metrics see the paid-ads channel: roas_dN is ROAS at age N of the latest cohort "
        "whose day N is over; cpa is yesterday's realised CPA [USD]; cumulative_roas is "
        "paid-ads net revenue to date / spend to date. A metric not yet observable never "
        "triggers.",
    ),
    "series": (
        "free_episodes <= episodes; each cliffhanger episode lies in 1 ... episodes - 1.",
        "With continuation_concentration, continuation must be below 1.",
    ),
    "unlocks": (
        "pack_coins: at least one pack, each 1 <= coins <= 1e7, rising; pack_prices_usd: "
        "one price per pack, each 0 < price <= 10000 USD, rising.",
        "coins_probability + pass_probability + ad_probability <= 1, also after the "
        "TikTok-pay lift (1 - tiktok_pay_discount) ** -price_elasticity on coins and pass.",
        "later_coins_per_episode and later_price_from_episode: both or neither; the later "
        "price starts at or before series.episodes.",
    ),
    "deal": (
        "The licence fee enters the series P&L and ROI, not ROAS on UA.",
    ),
    "correlations": (
        "Both keys must be uncertain keys of this scenario; each pair at most once.",
        "The correlations together must form a positive-definite matrix.",
    ),
}

# --- the reference's rows ----------------------------------------------------------------------


@dataclass(frozen=True)
class KeyDoc:
    """One key of a section, as the reference shows it."""

    name: str
    type: str
    unit: str
    range: str
    default: str
    distribution: str      # "yes", "choice" (integer keys), or "no"
    meaning: str
    has_default: bool = False   # ``default`` is a value (else 'required', 'absent', a rule)


@dataclass(frozen=True)
class SectionDoc:
    """One section: its TOML header, meaning, when it is given, keys and rules."""

    name: str
    header: str
    meaning: str
    presence: str
    keys: tuple[KeyDoc, ...]
    rules: tuple[str, ...]


def section_names() -> tuple[str, ...]:
    """Every section the reference describes, in schema order, then the pseudo-sections."""
    return tuple(Scenario.model_fields) + PSEUDO_SECTIONS


def section_doc(name: str) -> SectionDoc:
    """The reference of one section (a name of ``section_names()``)."""
    if name == "correlations":
        return _correlations_doc()
    if name == "distributions":
        return _distributions_doc()
    info = Scenario.model_fields[name]
    model = model_of(info.annotation)
    listed = typing.get_origin(info.annotation) is list
    header = f"[[{name}]]" if listed else f"[{name}]"
    rules = _mode_rules(name) + RULES.get(name, ())
    if name == "quality":
        return _quality_doc(model, header, rules)
    keys = tuple(_key_doc(name, key, field, uncertain=not listed)
                 for key, field in model.model_fields.items())
    return SectionDoc(name, header, _meaning(name, model), _presence(name, info), keys, rules)


def _presence(name: str, info) -> str:
    """When a section is given: ``PRESENCE``, else read from the ``Scenario`` field."""
    if name in PRESENCE:
        return PRESENCE[name]
    return "required" if info.default is PydanticUndefined else "optional"


def _meaning(name: str, model: type[BaseModel]) -> str:
    """The first sentence of the model's docstring, else the line in ``MEANINGS``."""
    doc = model.__dict__.get("__doc__")
    if not doc:
        return MEANINGS.get(name, "")
    para = " ".join(doc.strip().split("\n\n")[0].split())
    end = para.find(". ")
    return para if end < 0 else para[:end + 1]


def _quality_doc(model, header, rules) -> SectionDoc:
    channels = list(model.model_fields)
    sub = model_of(model.model_fields[channels[0]].annotation)
    keys = tuple(_key_doc("quality", key, field, uncertain=False)
                 for key, field in sub.model_fields.items())
    presence = (f"{PRESENCE['quality']}; one table per channel: "
                + ", ".join(f"[quality.{c}]" for c in channels) + ", each with these keys")
    return SectionDoc("quality", "[quality.<channel>]", _meaning("quality", model), presence,
                      keys, rules)


def _mode_rules(section: str) -> tuple[str, ...]:
    out = []
    for switch, modes in MODE_KEYS.get(section, {}).items():
        parts = [f"{switch} = \"{mode}\" needs {', '.join(keys)}" for mode, keys in
                 modes.items()]
        out.append("; ".join(parts) + f"; the keys of another {switch} are refused.")
    return tuple(out)


def _mode_default(section: str, key: str) -> str | None:
    for switch, modes in MODE_KEYS.get(section, {}).items():
        for mode, keys in modes.items():
            if key in keys:
                return f"required when {switch} = \"{mode}\""
    return None


def _key_doc(section: str, key: str, info, uncertain: bool) -> KeyDoc:
    unit = (info.json_schema_extra or {}).get("unit", "")
    choices = _choices(info.annotation)
    bounds = field_bounds(info)
    if choices:
        rng = "one of " + ", ".join(json.dumps(c) for c in choices)
    elif bounds[0] is not None or bounds[2] is not None:
        rng = range_text(bounds)
    else:
        rng = ""
    if info.default is PydanticUndefined:
        default = "required"
    elif info.default is None:
        default = (_mode_default(section, key) or REQUIRED_WHEN.get(f"{section}.{key}")
                   or "absent")
    else:
        default = _toml(info.default)
    listed = any(typing.get_origin(a) is list for a in (info.annotation,
                                                          *typing.get_args(info.annotation)))
    kind = numeric_kind(info.annotation) if uncertain and not listed else None
    fixed = section in RUN_SHAPE_SECTIONS or f"{section}.{key}" in RUN_SHAPE_KEYS
    dist = "no" if kind is None or fixed else ("choice" if kind is int else "yes")
    meaning = info.description or ""
    if fixed:
        meaning += " (sets the shape of the run: never uncertain, the same in every market)"
    has_default = info.default not in (PydanticUndefined, None)
    return KeyDoc(key, _type_text(info.annotation), unit, rng, default, dist, meaning,
                  has_default)


def _choices(annotation) -> tuple:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    if _is_union(annotation) and len(args) == 1:
        return _choices(args[0])
    return ()


def _is_union(annotation) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _type_text(annotation) -> str:
    """'number', 'integer', 'string', 'list of number', 'table' ... for a field's type."""
    if _is_union(annotation):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(_type_text(a) for a in args)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "string"
    if origin is list:
        inner = typing.get_args(annotation)[0]
        return "tables" if model_of(inner) else f"list of {_type_text(inner)}"
    if origin is dict or model_of(annotation) is not None:
        return "table"
    return {int: "integer", float: "number", str: "string", bool: "boolean"}[annotation]


def _toml(value) -> str:
    if isinstance(value, BaseModel | dict) and not value:
        return "{}"
    from simcore.scenario.markets import toml_value

    return toml_value(value)


def _correlations_doc() -> SectionDoc:
    keys = (KeyDoc("between", "list of string", "", "two different uncertain keys",
                   "required", "no", "The two dotted keys, e.g. [\"retention.d1\", "
                   "\"retention.d7\"]"),
            KeyDoc("spearman", "number", "", "-1 < value < 1", "required", "no",
                   "Spearman rank correlation of the two keys' sampled values"))
    return SectionDoc("correlations", "[[correlations]]", MEANINGS["correlations"],
                      PRESENCE["correlations"], keys, RULES["correlations"])


def _distributions_doc() -> SectionDoc:
    means = {"lognormal": "median and 90th percentile (p90 > median > 0)",
             "beta": "mean and sd, for probabilities and shares only (0 < mean < 1, "
                     "sd < sqrt(mean (1 - mean)))",
             "uniform": "every value in low ... high equally likely",
             "triangular": "low <= mode <= high",
             "normal": "mean and sd, truncated to low ... high when given",
             "choice": "one of values (weights: relative chances; default equal); the only "
                       "kind for integer keys"}
    keys = tuple(KeyDoc(f"dist = \"{kind}\"", "table", "field unit",
                        ", ".join(req + tuple(f"{o}?" for o in opt)), "", "", means[kind])
                 for kind, (req, opt) in KINDS.items())
    rules = ("Write { dist = \"lognormal\", median = 12.0, p90 = 20.0 } in place of a number; "
             "the arguments are in the key's unit.",
             "A distribution's whole sampled support (quantiles 1e-9 ... 1 - 1e-9) must lie "
             "in the key's valid range.",
             "Each draw samples one value per uncertain key; the scenario's value is the "
             "median. Keys that set the run's shape, list keys and [quality.*], [[markets]] "
             "and [[rules]] keys cannot be uncertain (a market's set may hold a "
             "distribution for a key that can).")
    return SectionDoc("distributions", "{ dist = ... }", MEANINGS["distributions"],
                      PRESENCE["distributions"], keys, rules)


# --- rendering ---------------------------------------------------------------------------------

INTRO = (
    "A scenario is a TOML file; each [section] below is a table of the file. Every key "
    "states its type, unit, valid range and default ('required' when it has none, "
    "'absent' when leaving it out is meaningful). Keys marked distribution 'yes' accept a "
    "distribution table in place of a number ('choice' for integer keys: see "
    "distributions). `simcore new --kind game|drama --region R` writes a commented "
    "template; `simcore validate FILE` checks a file and prints it resolved.")


def format_reference(section: str | None = None, markdown: bool = False) -> str:
    """The reference of every section (``section`` None) or of one, as plain text for the
    terminal or as markdown (``docs/scenario-reference.md``).

    An unknown section raises ``ScenarioError`` naming the valid ones.
    """
    names = section_names()
    if section is not None:
        name = section.strip().strip("[]")
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ScenarioError(section, f"unknown section ({hint}valid sections: "
                                f"{', '.join(names)})")
        names = (name,)
    render = _markdown_section if markdown else _text_section
    body = [render(section_doc(n)) for n in names]
    if section is not None:
        return "\n".join(body)
    if markdown:
        head = ["# Scenario reference", "",
                "<!-- Generated by `python -m simcore.scenario.reference` from the schema "
                "(simcore/scenario/schema.py, drama.py); do not edit by hand. -->", "",
                INTRO, "",
                "Sections: " + ", ".join(f"[{n}](#{n})" for n in section_names()), ""]
    else:
        head = [textwrap.fill(INTRO, WIDTH), ""]
    return "\n".join(head + body)


def _text_section(doc: SectionDoc) -> str:
    lines = textwrap.wrap(f"{doc.header}  {doc.meaning}", WIDTH, subsequent_indent="  ")
    lines += textwrap.wrap(f"Given: {doc.presence}.", WIDTH, initial_indent="  ",
                           subsequent_indent="    ")
    width = max(len(k.name) for k in doc.keys) + 2
    for k in doc.keys:
        facts = [k.type + (f" [{k.unit}]" if k.unit else "")]
        default = {"absent": "optional"}.get(k.default, k.default)
        facts += [x for x in (k.range, f"default {default}" if k.has_default else default)
                  if x]
        if k.distribution == "yes":
            facts.append("distribution ok")
        elif k.distribution == "choice":
            facts.append("distribution: choice only")
        lines += textwrap.wrap("; ".join(facts), WIDTH, initial_indent=f"  {k.name:<{width}}",
                               subsequent_indent=" " * (width + 6))
        lines += textwrap.wrap(k.meaning, WIDTH, initial_indent=" " * (width + 4),
                               subsequent_indent=" " * (width + 4))
    for rule in doc.rules:
        lines += textwrap.wrap(rule, WIDTH, initial_indent="  - ", subsequent_indent="    ")
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*")


def _markdown_section(doc: SectionDoc) -> str:
    lines = [f"## {doc.name}", "", f"`{doc.header}`: {_md_escape(doc.meaning)}", "",
             f"Given: {_md_escape(doc.presence)}.", "",
             "| key | type | unit | valid range | default | distribution | meaning |",
             "|---|---|---|---|---|---|---|"]
    for k in doc.keys:
        cells = [f"`{k.name}`", k.type, k.unit, k.range, k.default, k.distribution, k.meaning]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    if doc.rules:
        lines += ["", "Rules:", ""] + [f"- {_md_escape(r)}" for r in doc.rules]
    return "\n".join(lines) + "\n"


# --- templates ---------------------------------------------------------------------------------

def _round(x: float, digits: int = 3) -> float:
    """``x`` to ``digits`` significant digits (starting values read as typed by hand)."""
    return float(f"{x:.{digits}g}")


def _price(x: float) -> float:
    return round(x, 2)


def new_scenario(kind: str, region: str, monetization: str | None = None) -> str:
    """A commented scenario template (TOML text) that validates and runs.

    ``kind``: "game" or "drama"; ``region``: one of ``simcore.scenario.schema.REGIONS``;
    ``monetization`` (games only): "iaa" (default), "iap" or "hybrid". Values are US
    starting values from public benchmarks moved to the region's levels
    (``simcore.scenario.regions``); optional sections are present but commented out.
    """
    return _template(kind, region, monetization, enable_optional=False)


def _template(kind: str, region: str, monetization: str | None,
              enable_optional: bool) -> str:
    """The template; ``enable_optional`` writes the optional lines uncommented (tests)."""
    if kind not in KINDS_OF_TITLE:
        raise ScenarioError("--kind", f"= {kind!r}: valid kinds: {', '.join(KINDS_OF_TITLE)}")
    if region not in REGIONS:
        raise ScenarioError("--region", f"= {region!r}: valid regions: {', '.join(REGIONS)}")
    if kind == "drama" and monetization is not None:
        raise ScenarioError("--monetization", "is for games: a drama earns through [unlocks] "
                            "and [deal]")
    if kind == "game":
        monetization = DEFAULT_MONETIZATION if monetization is None else monetization
        if monetization not in MONETIZATIONS:
            raise ScenarioError("--monetization", f"= {monetization!r}: valid values: "
                                f"{', '.join(MONETIZATIONS)}")
    blocks = (_game_blocks(region, monetization) if kind == "game"
              else _drama_blocks(region))
    out = []
    for block in blocks:
        for line in block.strip("\n").split("\n"):
            if line.startswith("?"):          # an optional line: commented out
                line = line[1:] if enable_optional or not line[1:] else "# " + line[1:]
                line = line or ("" if enable_optional else "#")
            out.append(_align(line))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _align(line: str) -> str:
    """Start the comment after a key's value at column ``COMMENT_COLUMN``, as the packaged
    scenarios do (a value is followed by two spaces and '#')."""
    code, sep, comment = line.partition("  # ")
    if not sep or not code.strip() or code.lstrip().startswith("#") and "=" not in code:
        return line
    code = code.rstrip()
    return f"{code.ljust(COMMENT_COLUMN - 1)} # {comment}" if len(code) < COMMENT_COLUMN - 1 \
        else f"{code}  # {comment}"


def _header(region: str, what: str) -> str:
    lv = REGION_LEVELS[region]
    if region == "US":
        levels = ("# Every value is a starting value to replace: a public benchmark for the US "
                  "or an assumption.\n")
    else:
        levels = (f"# Every value is a starting value to replace: a public benchmark for the US "
                  f"or an assumption, moved\n# to {region}'s levels (simcore/regions.py: unit cost "
                  f"x{lv.cost_index:g}, eCPMs x{lv.ecpm_index:g}, prices "
                  f"x{lv.price_index:g}, tax {lv.tax_rate:.2%}).\n")
    return f"""\
# {what}, {region}.
# Written by `simcore new`: a template to replace with your own values.
#
{levels}\
# `simcore schema SECTION` lists every key with its unit, range and default; `simcore
# validate FILE` checks the file. Optional sections are commented out: remove the leading
# "# " of their lines to use them. An uncertain value is a distribution,
# {{ dist = "lognormal", median = ..., p90 = ... }} (`simcore schema distributions`).
"""


def _goal_block(age: int) -> str:
    return f"""\
# Optional: the goal that summaries, reports and scale judge (absent: ROAS 1 by the horizon).
?[goal]
?age = {age}                           # days: judge ROAS at this age
?roas = 1.0                         # payback"""


def _tax_note(region: str) -> str:
    if REGION_LEVELS[region].tax_rate == 0:
        return f"{region}: sales tax is added on top of the price"
    return f"{region}: VAT/GST included in the price (simcore/regions.py)"


def _game_blocks(region: str, monetization: str) -> list[str]:
    lv = REGION_LEVELS[region]
    cpa, cpa90 = _round(0.5 * lv.cost_index, 2), _round(0.75 * lv.cost_index, 2)
    cpm = _round(6.0 * lv.cost_index, 2)
    what = {"iaa": "IAA (in-app ads)", "iap": "IAP (in-app purchases)",
            "hybrid": "hybrid (ads and purchases)"}[monetization]
    blocks = [_header(region, f"A casual {what} mini-game"), f"""\
[title]
name = "My Game ({region})"
genre = "casual"                    # free text: puzzle, simulation, backpack battle ...
monetization = "{monetization}"{' ' * (14 - len(monetization))}# iaa: ads; iap: purchases; \
hybrid: both""", """\
[simulation]
seed = 1                            # root seed: same seed, same results
draws = 100                         # Monte Carlo draws (each samples the uncertain values)
horizon_days = 180                  # follow each cohort to day 180
?sampling = "aggregated"            # or "per_user" (slower, the same distribution)""",
        _goal_block(90), f"""\
[campaign]
region = "{region}"
days = 14                           # days of spend, one cohort a day
daily_budget_usd = 3000.0
bidding = "target_cpa"              # pay per activation (a first real play)
# seeds: casual-game CPA $1-3 on app stores, under $0.30 for the best Minis IAA title; an
# activation needs no install, hence a median below the app-store range
target_cpa_usd = {{ dist = "lognormal", median = {cpa}, p90 = {cpa90} }}
# CPM bidding instead: bidding = "cpm", cpm_usd = {cpm}, anchor_ctr = 0.015,
# load_success = 0.9, first_play = 0.85 (and no target_cpa_usd)
saturation_budget_usd = 40000.0     # assumption: the unit cost doubles at $40k a day
saturation_shape = 1.0              # exponent of the saturation curve
daily_cost_volatility = 0.15        # assumption: day-to-day cost moves ~15 % (log-sd)
# budget_schedule = "flat" (default), "ramp", "pulse" or "list": `simcore schema campaign`""",
              """\
[retention]
# Casual benchmarks: D1 26-34 %, D7 8-10 %, D30 ~3 %; the loader fits the model to targets.
model = "bdw"                       # beta-discrete-Weibull ("sbg": shifted-beta-geometric)
d1 = { dist = "triangular", low = 0.25, mode = 0.30, high = 0.35 }
d7 = 0.09
d30 = 0.03
d90 = 0.01                          # assumption: long-tail anchor for the fit
?daily_play_probability = 0.9       # optional: retained users skip about one day in ten""",
              """\
[engagement]
sessions_per_day = 3.0              # assumption: a few short sessions per active day
sessions_shape = 1.5                # Gamma shape: per-user heterogeneity (absent: alike)"""]
    if monetization in ("iaa", "hybrid"):
        rew, inter = _round(14.0 * lv.ecpm_index), _round(8.0 * lv.ecpm_index)
        blocks.append(f"""\
[ads]
rewarded_per_session = {1.5 if monetization == 'hybrid' else 2.0}         # assumption: hints, \
revives, boosts
interstitial_per_session = {0.5 if monetization == 'hybrid' else 1.5}     # assumption: \
breaks between levels
interstitial_cap_per_day = 8        # frequency cap per user per day (absent: no cap)
fill_rate_rewarded = 0.9            # benchmark: rewarded fill 85-95 %
fill_rate_interstitial = 0.85
# benchmarks: US rewarded eCPM $10-25, interstitial $5-15 (public mediation reports)
ecpm_rewarded_usd = {{ dist = "lognormal", median = {rew}, p90 = {_round(rew * 1.4)} }}
ecpm_interstitial_usd = {{ dist = "lognormal", median = {inter}, p90 = {_round(inter * 1.4)} }}
developer_share = {{ dist = "uniform", low = 0.5, high = 0.8 }}   # not published for Minis""")
    if monetization in ("iap", "hybrid"):
        arppu = _round(15.0 * lv.price_index)
        share7, share30 = (0.02, 0.026) if monetization == "iap" else (0.015, 0.02)
        blocks.append(f"""\
[iap]
payer_share_d7 = {share7}             # benchmark: payer share 1-3 % of a cohort
payer_share_d30 = {share30}
arppu_d30_usd = {{ dist = "lognormal", median = {arppu}, p90 = {_round(arppu * 1.6)} }}  \
# assumption
?price_tiers_usd = [0.99, 1.99, 4.99, 9.99, 19.99, 49.99]  # optional: platform price points
platform_fee = 0.3                  # assumption: store-like platform share
tax_rate = {_round(lv.tax_rate, 4)}  # {_tax_note(region)}
refund_rate = 0.02                  # assumption""")
    if monetization in ("iaa", "hybrid"):
        blocks.append("""\
# Rank correlations between uncertain values (Gaussian copula).
[[correlations]]
between = ["ads.ecpm_rewarded_usd", "ads.ecpm_interstitial_usd"]
spearman = 0.6                      # the same advertisers bid on both formats""")
    other = "JP" if region != "JP" else "US"
    blocks += ["""\
# Optional: creator videos carrying the Play anchor, creators paid per 1,000 views.
?[creator]
?videos_per_day = 20.0
?views_median = 3000.0
?views_p90 = 25000.0                # heavy tail: one video in ten above this
?anchor_ctr = 0.008                 # taps on the Play anchor per view
?load_success = 0.9
?first_play = 0.85
?usd_per_1000_views = 2.0           # or payment = "revenue_share" with revenue_share""",
               """\
# Optional: users who come without spend (search, profile entrance, Mini Games Center).
?[organic]
?search_per_day = 200.0
?profile_per_day = 100.0
?games_center_scale = 50.0          # recommendations grow with recent activations
?days = 30""", """\
# Optional: social fission (shares bring new users, who share in turn).
?[share]
?shares_per_active_day = 0.05
?conversion = 0.1                   # chance a share activates a new user""", """\
# Optional: how creator-channel users differ from paid users (multipliers, 1 = the same).
?[quality.creator]
?retention = 0.9
?engagement = 1.0
?payers = 0.8""", f"""\
# Optional: a multi-market run; the values above describe campaign.region, each market moves
# them to its region's levels and takes its share of the budget (shares sum to 1).
?[[markets]]
?region = "{region}"
?budget_share = 0.7
?
?[[markets]]
?region = "{other}"
?budget_share = 0.3""", """\
# Optional: UA rules, evaluated at the start of each campaign day.
?[[rules]]
?metric = "roas_d1"
?below = 0.2
?action = "stop\""""]
    return blocks


def _drama_blocks(region: str) -> list[str]:
    lv = REGION_LEVELS[region]
    cpa, cpa90 = _round(0.3 * lv.cost_index, 2), _round(0.45 * lv.cost_index, 2)
    packs = [_price(p * lv.price_index) for p in (4.99, 9.99, 19.99, 49.99)]
    ecpm = _round(15.0 * lv.ecpm_index)
    tax = _round(lv.tax_rate, 4)
    return [_header(region, "A paywalled micro-drama series"), f"""\
[title]
name = "My Series ({region})"
genre = "romance micro-drama"
kind = "drama\"""", """\
[simulation]
seed = 1
draws = 100
horizon_days = 90                   # most of a series' revenue comes within weeks""",
            _goal_block(60), f"""\
[campaign]
region = "{region}"
days = 14                           # UA behind the launch
daily_budget_usd = 2000.0
bidding = "target_cpa"              # pay per viewer who starts episode 1
# assumption: a fraction of the $1-3 CPI drama apps pay (no install); wide: Minis is new
target_cpa_usd = {{ dist = "lognormal", median = {cpa}, p90 = {cpa90} }}
saturation_budget_usd = 30000.0     # assumption: the cost doubles at $30k a day
daily_cost_volatility = 0.15""", """\
# Optional: viewers who come without spend; deal.launch_spike scales them on release.
?[organic]
?search_per_day = 300.0
?profile_per_day = 500.0
?days = 30""", """\
[series]
episodes = 60                       # industry: 50-100 episodes
free_episodes = 10                  # before the paywall (= episodes: free, no [unlocks])
minutes_per_episode = 1.5
continuation = { dist = "triangular", low = 0.89, mode = 0.925, high = 0.95 }  # assumption
continuation_concentration = 8.0    # heterogeneous viewers (absent: all alike)
cliffhanger_episodes = [3, 6, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]
cliffhanger_dropoff_ratio = 0.5     # assumption: half the usual drop-off after one
episodes_per_day = 8.0              # assumption: binge pace
pace_shape = 1.5
watch_probability = 0.6             # chance a viewer still in comes back on a given day""",
            f"""\
[unlocks]
coins_per_episode = 60              # industry: 50-90 coins an episode
?later_coins_per_episode = 80       # optional, with later_price_from_episode: a dearer end
?later_price_from_episode = 45
pack_coins = [500, 1050, 2200, 5800]
pack_prices_usd = {packs}   # US tiers 4.99 ... 49.99 x {lv.price_index:g}
coins_probability = {{ dist = "triangular", low = 0.03, mode = 0.06, high = 0.10 }}
pass_probability = 0.02
ad_probability = 0.15               # rewarded ads unlock one episode each
coins_repurchase = 0.55
weekly_pass_usd = {_price(14.99 * lv.price_index)}
monthly_pass_usd = {_price(39.99 * lv.price_index)}
weekly_pass_share = 0.8
pass_renewal = 0.35
ad_ecpm_usd = {{ dist = "lognormal", median = {ecpm}, p90 = {_round(ecpm * 1.45)} }}
ad_developer_share = 0.7            # assumption (not published for Minis)
tiktok_pay_share = 0.7              # assumption: most pay where they watch
tiktok_pay_discount = 0.10          # seeds: about 10 % off through TikTok
price_elasticity = 1.0
platform_fee = 0.2                  # assumption
tax_rate = {tax}  # {_tax_note(region)}
refund_rate = 0.02""", """\
[deal]
licence_fee_usd = 0.0               # a licensed free series: up to 10,000 (seeds)
ad_share_rpm_usd = 0.0              # platform ad revenue per 1,000 free-episode views
ad_share = 0.0                      # producer's share of it
production_budget_usd = { dist = "triangular", low = 100000.0, mode = 180000.0, \
high = 300000.0 }
launch_spike = 3.0                  # organic arrivals on release day vs the base rate
launch_days = 8""", """\
# Rank correlations between uncertain values (Gaussian copula), e.g.
# [[correlations]]
# between = ["series.continuation", "unlocks.coins_probability"]
# spearman = 0.3"""]


if __name__ == "__main__":
    print(format_reference(markdown=True), end="")
