"""A seeded generator of CLI inputs for the fuzz test of the input contract
(tests/cli/test_fuzz.py).

A variant is one ``simcore`` command line (and, for raw-text variants, the bytes of a scenario
file). Run variants start from a packaged scenario, a small base of ``--set`` overrides that
keeps a run cheap (2 draws, 2 campaign days, a 30-day horizon; given first, so a mutation of
the same key wins) and 1-3 mutations: a field of the scenario's sections (found by
introspecting the pydantic models and their ge/gt/le/lt constraints) set to a value at, just
inside or just outside its bounds, or to an extreme, a wrong type or a distribution table
with extreme arguments; an unknown or oddly written key; a whole section replaced; an odd
``--seed`` or ``--draws``. Raw-text variants damage a packaged scenario's bytes (truncation,
byte flips, byte-order marks, deep nesting, megabytes of comments, other encodings) and run
``simcore validate`` on the file.

``variants()`` is deterministic: the same list on every machine and every call (one numpy
Generator with a fixed seed, fields visited in declaration order).
"""

from __future__ import annotations

import functools
import math
import tomllib
import types
import typing
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from simcore.scenario import packaged_scenarios
from simcore.scenario.validation import field_bounds
from simcore.scenario.schema import Scenario

SEED = 20251111
GAMES = ("reborn_emperor_us", "brain_puzzle_us", "backpack_battle_jp", "reborn_emperor_global")
GAME_WEIGHTS = (0.35, 0.25, 0.25, 0.15)     # the 7-market scenario costs the most per run
DRAMAS = ("drama_paywall_us", "drama_free_licensed_us")
N_GAME_RUNS = 90
N_DRAMA_RUNS = 60
N_RAW = 40                                  # half on game files, half on drama files
SCENARIO_FILE = "scenario.toml"             # name of a raw-text variant's file
OUTPUT = "out.nc"
VALID_SHARE = 0.4               # run variants whose mutations stay inside the valid ranges

# Keeps a run cheap: 2 draws of 2 campaign days followed for 30 days. Days of the sections
# that have their own calendar are cut to 2 as well where the scenario has the section.
BASE = ("simulation.draws=2", "campaign.days=2", "simulation.horizon_days=30")
SECTION_DAYS = {"organic": "organic.days=2", "creator": "creator.days=2",
                "share": "share.window_days=2"}

# Values tried on any field, as TOML literals (a bare word that is not TOML stays a string).
EXTREMES = ("0", "-1", "1", "1e308", "1e-308", "1e-300", "5e-324", "-1e308", "1e309",
            str(2**63 - 1), str(2**63), str(2**64), str(10**30), str(-2**63), "nan", "inf",
            "-inf", "true", '"12"', "abc", '""', "[]", "{}", "{ a = 1 }", "[[1]]",
            '"a\\nb"', '"\\u0000"', '"' + "x" * 5000 + '"')
LISTS = ("[]", "[0]", "[-1]", "[1e308]", "[nan]", '["a"]', "[[1]]", "[1, 2]", "[2, 1]",
         "[1.5]", "[1, 1]", "[" + ", ".join(str(i) for i in range(1, 2001)) + "]")
STRINGS = ('""', '"a"', '"a\\nb\\r\\tc"', '"\\u00e9\\u4e2d\\U0001F600"', '"' + "n" * 20000 + '"',
           "0", "true", "[]")
ODD_KEYS = ("campaign.x[1]=3", 'campaign."x[1]"=3', "campaign.daily_budjet_usd=100",
            "nosuchsection.key=1", "campain.days=3", "a..b=1", ".x=1", "campaign.=1", "=5",
            "campaign.days==2", "campaign.days", "campaign. days=2", "campaign.d\u00e5ys=2",
            "campaign.da\nys=2", "title.name.x=1", "markets.0.region=JP",
            "simulation.seed.x.y=1", "x" * 300 + ".y=1", "campaign.days=\x00",
            "campaign.days=2=3", "ads.ecpm_rewarded_usd={ dist = ", "series.episodes=[",
            "\u202ecampaign.days=2", "campaign.days=\x1b[2J\x1b[31m", "campaign.days= 2 ",
            "correlations.0.spearman=2")
SECTION_VALUES = ("5", "[]", '"text"', "{}", "true", "[{}]", "[1, 2]")
WHOLE_LISTS = ('rules=[{ metric = "cpa", below = 1.0, action = "stop" }]',
               'rules=[{ metric = "roas_d1", above = 0.5, action = "scale", factor = 10.0 }]',
               'rules=[{ metric = "nope", below = 1.0, action = "stop" }]',
               'markets=[{ region = "US", budget_share = 1.0 }]',
               'markets=[{ region = "US", budget_share = 0.5 }, { region = "JP", '
               'budget_share = 0.5, set = { "retention.d1" = 0.9 } }]',
               'markets=[{ region = "US", budget_share = 1.0, set = { "x[1]" = 1 } }]',
               "correlations=[]", "correlations=[1]",
               'correlations=[{ between = ["campaign.target_cpa_usd", '
               '"campaign.target_cpa_usd"], spearman = 0.5 }]')
CLI_OPTIONS = (("--seed", "-1"), ("--seed", str(2**64)), ("--seed", str(2**63 - 1)),
               ("--seed", "abc"), ("--seed", "0"), ("--draws", "0"), ("--draws", "-5"),
               ("--draws", "100000"), ("--draws", "1"), ("--draws", "1e3"),
               ("--draws", str(10**20)))


@dataclass(frozen=True)
class Variant:
    """One fuzzed command: ``argv`` for ``simcore.cli.main`` (``raw``: the bytes to write to
    ``SCENARIO_FILE`` first); ``what`` lists the mutations, for failure messages."""

    id: str
    scenario: str
    kind: str                       # game | drama
    argv: tuple[str, ...]
    what: tuple[str, ...]
    raw: bytes | None = None

    @property
    def writes_output(self) -> bool:
        return self.argv[0] == "run"


@dataclass(frozen=True)
class Slot:
    """A field that a mutation can set: its dotted key and its schema facts."""

    key: str
    kind: str                       # int | float | literal | list | str | other
    choices: tuple = ()
    bounds: tuple = (None, True, None, True)    # lower, lower incl., upper, upper incl.


# --- introspection of the schema ----------------------------------------------------------------

def _strip_optional(annotation):
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _model(annotation) -> type[BaseModel] | None:
    inner = _strip_optional(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def _slot(key: str, info) -> Slot:
    annotation = _strip_optional(info.annotation)
    if annotation is int or annotation is float:
        return Slot(key, annotation.__name__, bounds=field_bounds(info))
    if typing.get_origin(annotation) is typing.Literal:
        return Slot(key, "literal", choices=typing.get_args(annotation))
    if typing.get_origin(annotation) is list:
        return Slot(key, "list")
    if annotation is str:
        return Slot(key, "str")
    return Slot(key, "other")


def slots(model: type[BaseModel], prefix: str) -> list[Slot]:
    """Every field of ``model`` (and of its sub-sections, e.g. ``quality.creator``)."""
    out = []
    for name, info in model.model_fields.items():
        sub = _model(info.annotation)
        if sub is not None:
            out += slots(sub, f"{prefix}.{name}")
        else:
            out.append(_slot(f"{prefix}.{name}", info))
    return out


SECTIONS = [name for name, info in Scenario.model_fields.items()
            if _model(info.annotation) is not None]


@functools.cache
def _scenario_data(name: str) -> dict:
    return tomllib.loads(packaged_scenarios()[name].read_text(encoding="utf-8"))


def scenario_sections(name: str) -> list[str]:
    """The [sections] a packaged scenario gives (tables only, not [[lists]])."""
    return [s for s in _scenario_data(name) if s in SECTIONS]


def given_numbers(name: str) -> list[Slot]:
    """The numeric fields a packaged scenario sets (a value there cannot clash with a mode)."""
    data = _scenario_data(name)
    out = []
    for section in scenario_sections(name):
        for slot in slots(_model(Scenario.model_fields[section].annotation), section):
            if slot.kind in ("int", "float") and slot.key.split(".")[1] in data[section]:
                out.append(slot)
    return out


# --- values ------------------------------------------------------------------------------------

def _toml(x) -> str:
    if isinstance(x, float):
        return "nan" if math.isnan(x) else ("inf" if x == math.inf else
                                            "-inf" if x == -math.inf else repr(x))
    return str(x)


def inside_value(rng: np.random.Generator, slot: Slot) -> tuple[str, str]:
    """A valid value for a numeric field: a bound (or just inside an open one), or a
    distribution spanning the whole valid range."""
    values = bound_values(slot)[::2]
    if rng.random() < 0.7 and values:
        return values[int(rng.integers(len(values)))], "bound"
    return distribution(rng, slot, inside=True), "dist-inside"


def bound_values(slot: Slot) -> list[str]:
    """The bounds of a numeric field, just inside and just outside each one."""
    lower, lower_in, upper, upper_in = slot.bounds
    out = []
    step_up = (lambda v: v + 1) if slot.kind == "int" else (lambda v: math.nextafter(v, math.inf))
    step_dn = (lambda v: v - 1) if slot.kind == "int" else (lambda v: math.nextafter(v, -math.inf))
    cast = int if slot.kind == "int" else float
    if lower is not None:
        lo = cast(lower)
        out += [lo if lower_in else step_up(lo), step_dn(lo) if lower_in else lo]
    if upper is not None:
        hi = cast(upper)
        out += [hi if upper_in else step_dn(hi), step_up(hi) if upper_in else hi]
    return [_toml(v) for v in out]


def distribution(rng: np.random.Generator, slot: Slot, inside: bool = False) -> str:
    """A distribution table for a numeric field: with ``inside`` (and 2 times in 5 anyway)
    one spanning the field's whole valid range, which is accepted; otherwise arguments at or
    past its bounds, non-finite, inconsistent or of an unknown kind."""
    lower, lower_in, upper, upper_in = slot.bounds
    lo = float(lower) if lower is not None else -1e308
    hi = float(upper) if upper is not None else 1e308
    lo_in = lo if lower_in else math.nextafter(lo, math.inf)      # just inside the bounds
    hi_in = hi if upper_in else math.nextafter(hi, -math.inf)
    tiny, mid = max(lo, 0.0) + 1e-300, (lo + hi) / 2 if hi < 1e300 else 1.0
    if inside or rng.random() < 0.4:
        spanning = [
            f'{{ dist = "uniform", low = {_toml(lo_in)}, high = {_toml(hi_in)} }}',
            f'{{ dist = "triangular", low = {_toml(lo_in)}, mode = {_toml(lo_in)}, '
            f'high = {_toml(hi_in)} }}',
            f'{{ dist = "lognormal", median = {_toml(max(lo_in, 1e-300))}, '
            f'p90 = {_toml(math.nextafter(max(lo_in, 1e-300), math.inf))} }}',
        ]
        if slot.kind == "int":
            spanning = [f'{{ dist = "choice", values = [{int(lo_in)}, {int(hi_in)}] }}']
        return spanning[int(rng.integers(len(spanning)))]
    options = [
        f'{{ dist = "lognormal", median = {_toml(tiny)}, p90 = {_toml(hi)} }}',
        f'{{ dist = "lognormal", median = {_toml(mid)}, p90 = {_toml(math.nextafter(mid, hi))} }}',
        '{ dist = "lognormal", median = 1e-300, p90 = 1e308 }',
        '{ dist = "lognormal", median = 1.0, p90 = inf }',
        '{ dist = "lognormal", median = 0.0, p90 = 1.0 }',
        f'{{ dist = "uniform", low = {_toml(lo)}, high = {_toml(hi)} }}',
        f'{{ dist = "uniform", low = {_toml(hi)}, high = {_toml(lo)} }}',
        f'{{ dist = "triangular", low = {_toml(lo)}, mode = {_toml(lo)}, high = {_toml(hi)} }}',
        f'{{ dist = "normal", mean = {_toml(mid)}, sd = 1e-300 }}',
        f'{{ dist = "normal", mean = {_toml(mid)}, sd = 1e308, low = {_toml(lo)}, '
        f'high = {_toml(hi)} }}',
        '{ dist = "normal", mean = 0.0, sd = nan }',
        '{ dist = "beta", mean = 0.5, sd = 0.4999 }',
        '{ dist = "beta", mean = 1e-300, sd = 1e-301 }',
        f'{{ dist = "choice", values = [{_toml(lo if lower is not None else 0)}, '
        f'{_toml(hi if upper is not None else 1)}] }}',
        '{ dist = "choice", values = [] }',
        '{ dist = "choice", values = [1, 2], weights = [0, 0] }',
        '{ dist = "choice", values = [1, 2], weights = [1e308, 1e308] }',
        '{ dist = "gamma", shape = 2.0 }',
        '{ dist = "lognormal", median = 1.0, p90 = 2.0, extra = 1 }',
        '{ median = 1.0 }',
    ]
    return options[int(rng.integers(len(options)))]


def value_for(rng: np.random.Generator, slot: Slot) -> tuple[str, str]:
    """(TOML literal, label) for ``slot``: mostly values of its own type, sometimes any."""
    if rng.random() < 0.12:
        v = EXTREMES[int(rng.integers(len(EXTREMES)))]
        return v, "extreme"
    if slot.kind in ("int", "float"):
        r = rng.random()
        values = bound_values(slot)
        if r < 0.55 and values:      # [inside, outside] per bound: inside 3 times in 4
            pick = int(rng.integers(len(values) // 2)) * 2 + int(rng.random() < 0.25)
            return values[pick], "bound-out" if pick % 2 else "bound"
        if r < 0.8:
            return distribution(rng, slot), "dist"
        return EXTREMES[int(rng.integers(9))], "extreme"
    if slot.kind == "literal":
        if rng.random() < 0.75:
            return f'"{slot.choices[int(rng.integers(len(slot.choices)))]}"', "choice"
        return ('"' + str(slot.choices[0]).upper() + '"', "bad-choice") if rng.random() < 0.5 \
            else ('"nope"', "bad-choice")
    if slot.kind == "list":
        return LISTS[int(rng.integers(len(LISTS)))], "list"
    if slot.kind == "str":
        return STRINGS[int(rng.integers(len(STRINGS)))], "str"
    return SECTION_VALUES[int(rng.integers(len(SECTION_VALUES)))], "other"


# --- variants ----------------------------------------------------------------------------------

def base_overrides(name: str) -> list[str]:
    present = scenario_sections(name)
    return list(BASE) + [v for s, v in SECTION_DAYS.items() if s in present]


def pinned(id: str, name: str, *extra: str) -> Variant:
    """A hand-written variant: ``simcore run NAME`` with the base and ``extra`` arguments:
    ``--set`` items, or an option and its value (``"--seed", "abc"``)."""
    argv = ["run", name]
    for item in base_overrides(name):
        argv += ["--set", item]
    pending_option = False
    for item in extra:
        argv += [item] if item.startswith("--") or pending_option else ["--set", item]
        pending_option = item.startswith("--") and not pending_option
    return Variant(id, name, "drama" if name in DRAMAS else "game", (*argv, "-o", OUTPUT),
                   tuple(extra) or ("unchanged",))


def mutation(rng: np.random.Generator, present: list[str]) -> tuple[list[str], str]:
    """One mutation: (extra argv, label)."""
    r = rng.random()
    if r < 0.76:
        # a field of a section the scenario gives (sometimes of any section, absent or of
        # the other kind)
        pool = present if rng.random() < 0.85 else SECTIONS
        section = pool[int(rng.integers(len(pool)))]
        model = _model(Scenario.model_fields[section].annotation)
        candidates = slots(model, section)
        slot = candidates[int(rng.integers(len(candidates)))]
        value, label = value_for(rng, slot)
        return ["--set", f"{slot.key}={value}"], f"{slot.key}:{label}"
    if r < 0.85:
        item = ODD_KEYS[int(rng.integers(len(ODD_KEYS)))]
        return ["--set", item], "odd-key"
    if r < 0.92:
        if rng.random() < 0.5:
            section = SECTIONS[int(rng.integers(len(SECTIONS)))]
            value = SECTION_VALUES[int(rng.integers(len(SECTION_VALUES)))]
            return ["--set", f"{section}={value}"], f"{section}:section"
        item = WHOLE_LISTS[int(rng.integers(len(WHOLE_LISTS)))]
        return ["--set", item], f"{item.partition('=')[0]}:list"
    option, value = CLI_OPTIONS[int(rng.integers(len(CLI_OPTIONS)))]
    return [option, value], f"{option}:{value}"


def run_variant(rng: np.random.Generator, index: int, name: str, kind: str) -> Variant:
    present = scenario_sections(name)
    argv = ["run", name]
    for item in base_overrides(name):
        argv += ["--set", item]
    labels = []
    if rng.random() < VALID_SHARE:       # one or two values the scenario gives, kept valid
        given = given_numbers(name)
        for _ in range(int(rng.integers(1, 3))):
            slot = given[int(rng.integers(len(given)))]
            value, label = inside_value(rng, slot)
            argv += ["--set", f"{slot.key}={value}"]
            labels.append(f"{slot.key}:{label}")
    else:
        for _ in range(int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))):
            extra, label = mutation(rng, present)
            argv += extra
            labels.append(label)
    argv += ["-o", OUTPUT]
    return Variant(f"{kind}{index:03d}-{name}", name, kind, tuple(argv), tuple(labels))


DAMAGE_WEIGHTS = np.array([3, 3] + [1] * 10) / 16   # truncations and byte flips most often


def damaged(rng: np.random.Generator, text: bytes) -> tuple[bytes, str]:
    """A packaged scenario's bytes, damaged one way."""
    r = int(rng.choice(12, p=DAMAGE_WEIGHTS))
    if r == 0:
        cut = int(rng.integers(len(text)))
        return text[:cut], f"truncated at byte {cut}"
    if r == 1:
        data = bytearray(text)
        flips = int(rng.integers(1, 9))
        for at in rng.integers(len(data), size=flips):
            data[int(at)] = int(rng.integers(256))
        return bytes(data), f"{flips} random bytes"
    if r == 2:
        return b"\xef\xbb\xbf" + text, "byte-order mark"
    if r == 3:
        return b"\xef\xbb\xbf\xef\xbb\xbf" + text, "two byte-order marks"
    if r == 4:
        depth = int(rng.choice([31, 33, 1000, 200_000]))
        return text + b"\nx = " + b"[" * depth + b"]" * depth + b"\n", f"arrays {depth} deep"
    if r == 5:
        depth = int(rng.choice([30, 40, 5000]))
        return (text + b"\nx = " + b"{ a = " * depth + b"1" + b" }" * depth + b"\n",
                f"inline tables {depth} deep")
    if r == 6:
        return text + (b"#" + b"c" * 79 + b"\n") * 26_215, "2 MB of comments"
    if r == 7:
        return text + (b"# " + b"c" * 78 + b"\n") * 12_000, "0.96 MB of comments"
    if r == 8:
        return text.decode("utf-8").encode("utf-16"), "UTF-16"
    if r == 9:
        at = int(rng.integers(len(text)))
        return text[:at] + b"\x00" + text[at:], "a NUL byte"
    if r == 10:
        return text.replace(b"\n", b"\r\n"), "CRLF line ends"
    return text + b"\n[title]\nname = \"again\"\n", "a section given twice"


def raw_variant(rng: np.random.Generator, index: int, name: str, kind: str) -> Variant:
    text = packaged_scenarios()[name].read_bytes()
    raw, label = damaged(rng, text)
    return Variant(f"raw{index:03d}-{name}", name, kind, ("validate", SCENARIO_FILE),
                   (label,), raw)


def variants() -> list[Variant]:
    """The fuzz variants: each packaged scenario unchanged (must run), then the mutated runs
    over games and dramas, then the damaged files."""
    rng = np.random.default_rng(SEED)
    out = [pinned(f"base-{name}", name) for name in GAMES + DRAMAS]
    for i in range(N_GAME_RUNS):
        name = GAMES[int(rng.choice(len(GAMES), p=GAME_WEIGHTS))]
        out.append(run_variant(rng, i, name, "game"))
    for i in range(N_DRAMA_RUNS):
        name = DRAMAS[int(rng.integers(len(DRAMAS)))]
        out.append(run_variant(rng, i, name, "drama"))
    for i in range(N_RAW):
        names = GAMES if i % 2 == 0 else DRAMAS
        name = names[int(rng.integers(len(names)))]
        out.append(raw_variant(rng, i, name, "game" if names is GAMES else "drama"))
    return out


if __name__ == "__main__":      # list the variants: python -m tests.fuzz_cases
    for v in variants():
        print(v.id, "|", "; ".join(v.what), "|", " ".join(repr(a) if " " in a else a
                                                          for a in v.argv[:2] + v.argv[-6:]))
