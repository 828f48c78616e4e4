"""The scenario reference (``simcore schema``) and the templates of ``simcore new``.

The reference is read from the schema, so every field of every model must appear with its
unit and range; the rules it states about modes and distributions are checked against what
the loader really accepts; the committed docs/scenario-reference.md must equal what the code
generates; every template validates, with its optional sections commented out or not.
"""

import copy
import tomllib
import typing
from pathlib import Path

import pytest

import simcore
from simcore.errors import ScenarioError
from simcore.kinds.drama.plan import compile_loaded_drama
from simcore.kinds.drama.simulate import draw_drama_plans
from simcore.kinds.game.plan import compile_loaded
from simcore.kinds.game.simulate import draw_plans
from simcore.scenario import scenario_from_text
from simcore.scenario.drama import DRAMA_ONLY, GAME_ONLY
from simcore.scenario.validation import field_bounds, model_of, validate
from simcore.scenario.loading import split_uncertainty
from simcore.scenario.reference import (
    MODE_KEYS,
    MONETIZATIONS,
    _template,
    format_reference,
    new_scenario,
    section_doc,
    section_names,
)
from simcore.scenario.regions import REGION_LEVELS
from simcore.scenario.schema import REGIONS, Scenario
from simcore.scenario.uncertainty import range_text

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scenario-reference.md"
CASES = [("game", r, m) for r in REGIONS for m in MONETIZATIONS] + [
    ("drama", r, None) for r in REGIONS]


def _section_model(name: str):
    return model_of(Scenario.model_fields[name].annotation)


def _leaf_models():
    """(section name, model whose fields are the section's keys) for every schema section."""
    for name in Scenario.model_fields:
        model = _section_model(name)
        if name == "quality":     # [quality.<channel>] tables share one model
            channels = list(model.model_fields)
            yield name, model_of(model.model_fields[channels[0]].annotation)
            for c in channels:
                assert model_of(model.model_fields[c].annotation) is model_of(
                    model.model_fields[channels[0]].annotation)
        else:
            yield name, model


# --- the reference ---------------------------------------------------------------------------

def test_every_schema_field_appears_with_unit_and_range():
    text, md = format_reference(), format_reference(markdown=True)
    assert list(section_names())[:len(Scenario.model_fields)] == list(Scenario.model_fields)
    for section, model in _leaf_models():
        doc = section_doc(section)
        assert [k.name for k in doc.keys] == list(model.model_fields), section
        assert doc.meaning and doc.presence, section
        one_text, one_md = format_reference(section), format_reference(section, markdown=True)
        assert one_text in text and one_md in md
        for key in doc.keys:
            info = model.model_fields[key.name]
            unit = (info.json_schema_extra or {}).get("unit", "")
            assert key.unit == unit
            bounds = field_bounds(info)
            if bounds[0] is not None or bounds[2] is not None:
                assert key.range == range_text(bounds)
            assert key.meaning.startswith(info.description), (section, key.name)
            assert f"  {key.name}  " in one_text or f"  {key.name} " in one_text
            row = next(line for line in one_md.splitlines()
                       if line.startswith(f"| `{key.name}` |"))
            assert unit in row and key.range.replace("*", "\\*") in row
            if info.is_required():
                assert key.default == "required"


def test_quality_channels_and_pseudo_sections_are_listed():
    quality = format_reference("quality")
    for channel in _section_model("quality").model_fields:
        assert f"[quality.{channel}]" in quality
    dists = format_reference("distributions")
    for kind in ("lognormal", "beta", "uniform", "triangular", "normal", "choice"):
        assert f'dist = "{kind}"' in dists
    assert "spearman" in format_reference("correlations")


def test_one_section_and_unknown_section():
    ads = format_reference("ads")
    assert ads.startswith("[ads]") and "[iap]" not in ads and "ecpm_rewarded_usd" in ads
    assert format_reference("[[markets]]") == format_reference("markets")
    with pytest.raises(ScenarioError) as err:
        format_reference("campain")
    msg = str(err.value)
    assert "\n" not in msg and "did you mean 'campaign'" in msg
    assert all(name in msg for name in section_names())


def test_docs_file_is_up_to_date():
    """Regenerate with: python -m simcore.scenario.reference > docs/scenario-reference.md"""
    assert DOCS.read_text(encoding="utf-8") == format_reference(markdown=True)


def test_terminal_reference_fits_the_width():
    assert max(len(line) for line in format_reference().splitlines()) <= 100


# --- the rules the reference states, checked against the validators ----------------------------

MODE_EXAMPLES = {"target_cpa_usd": 0.5, "cpm_usd": 6.0, "anchor_ctr": 0.015,
                 "load_success": 0.9, "first_play": 0.85, "ramp_days": 5,
                 "ramp_start_share": 0.3, "pulse_period_days": 7, "pulse_length_days": 3,
                 "pulse_off_share": 0.2, "daily_budgets_usd": [1000.0] * 14,
                 "usd_per_1000_views": 2.0, "revenue_share": 0.2}


def _game_data() -> dict:
    """A game template with every optional section on, parsed, distributions at medians."""
    text = _template("game", "US", "hybrid", enable_optional=True)
    data, _ = split_uncertainty(tomllib.loads(text))
    return data


@pytest.mark.parametrize("section,switch", [(s, w) for s, modes in MODE_KEYS.items()
                                            for w in modes])
def test_mode_keys_are_what_the_validators_require(section, switch):
    base = _game_data()
    modes = MODE_KEYS[section][switch]
    every = {k for keys in modes.values() for k in keys}
    for mode, keys in modes.items():
        data = copy.deepcopy(base)
        table = {k: v for k, v in data[section].items() if k not in every}
        data[section] = table | {switch: mode} | {k: MODE_EXAMPLES[k] for k in keys}
        validate(data, "t")                       # the mode with its keys is accepted
        doc = {k.name: k.default for k in section_doc(section).keys}
        for key in keys:
            assert doc[key] == f'required when {switch} = "{mode}"'
            missing = copy.deepcopy(data)
            del missing[section][key]
            with pytest.raises(ScenarioError) as err:
                validate(missing, "t")
            assert err.value.key == f"{section}.{key}" and "required when" in err.value.message
        for key in every - set(keys):
            extra = copy.deepcopy(data)
            extra[section][key] = MODE_EXAMPLES[key]
            with pytest.raises(ScenarioError) as err:
                validate(extra, "t")
            assert err.value.key == f"{section}.{key}" and "only used with" in err.value.message


def test_conditional_keys_named_in_the_reference():
    data = _game_data()
    data["rules"][0] |= {"action": "scale"}
    with pytest.raises(ScenarioError, match="rules.factor"):
        validate(data, "t")
    drama, _ = split_uncertainty(tomllib.loads(new_scenario("drama", "US")))
    drama["unlocks"].pop("weekly_pass_usd")
    with pytest.raises(ScenarioError, match="unlocks.weekly_pass_usd"):
        validate(drama, "t")
    drama["unlocks"] |= {"weekly_pass_share": 0.0}
    drama["unlocks"].pop("monthly_pass_usd")
    with pytest.raises(ScenarioError, match="unlocks.monthly_pass_usd"):
        validate(drama, "t")


def _valid_value(info, integer: bool):
    lo, lo_in, hi, hi_in = field_bounds(info)
    if integer:
        return 1 if lo is None else int(lo) + (0 if lo_in else 1)
    if lo is not None and hi is not None:
        return (lo + hi) / 2
    return 1.0 if lo is None else lo + 1.0


def test_distribution_column_matches_the_loader():
    """'yes' and 'choice' keys take a distribution; scalar 'no' keys are refused."""
    checked = 0
    for section in Scenario.model_fields:
        info = Scenario.model_fields[section]
        if section == "quality" or typing.get_origin(info.annotation) is list:
            continue        # sub-tables and [[lists]]: the schema refuses their tables
        model = _section_model(section)
        for key in section_doc(section).keys:
            field = model.model_fields[key.name]
            if "list" in key.type:
                continue    # see test_list_keys_refuse_distributions
            value = _valid_value(field, key.distribution == "choice")
            data = {section: {key.name: {"dist": "choice", "values": [value]}}}
            if key.distribution == "no":
                with pytest.raises(ScenarioError):
                    split_uncertainty(data)
            else:
                _, u = split_uncertainty(data)
                assert u.keys == [f"{section}.{key.name}"]
            checked += 1
    assert checked > 100


def test_list_keys_refuse_distributions():
    text = new_scenario("drama", "US").replace(
        "pack_prices_usd = [4.99, 9.99, 19.99, 49.99]",
        'pack_prices_usd = { dist = "choice", values = [4.99] }')
    assert "choice" in text
    with pytest.raises(ScenarioError, match="unlocks.pack_prices_usd"):
        scenario_from_text(text)
    assert {k.name: k.distribution for k in section_doc("unlocks").keys}[
        "pack_prices_usd"] == "no"


# --- templates --------------------------------------------------------------------------------

def _compile(loaded):
    """The plan of the scenario at its medians (fits retention and purchases)."""
    if loaded.scenario.title.kind == "drama":
        return compile_loaded_drama(loaded)
    return compile_loaded(loaded)


@pytest.mark.parametrize("kind,region,monetization", CASES)
def test_template_validates_with_and_without_optional_sections(kind, region, monetization):
    text = new_scenario(kind, region, monetization)
    loaded_plain = scenario_from_text(text, f"new {kind} {region}")
    _compile(loaded_plain)
    s = loaded_plain.scenario
    assert s.title.kind == kind and s.campaign.region == region
    assert s.title.monetization == (monetization if kind == "game" else None)
    assert max(len(line) for line in text.splitlines()) <= 100
    full = _template(kind, region, monetization, enable_optional=True)
    loaded = scenario_from_text(full, f"new {kind} {region} (optional on)")
    _compile(loaded)
    expected = set(Scenario.model_fields) - (set(DRAMA_ONLY) if kind == "game" else
                                             set(GAME_ONLY) | {"markets", "rules"})
    expected -= {"iaa": {"iap"}, "iap": {"ads"}}.get(monetization, set())
    given = {name for name in Scenario.model_fields
             if getattr(loaded.scenario, name) not in (None, [])}
    assert given == expected            # every section the kind allows is in the template
    for name in given - {name for name in Scenario.model_fields
                         if getattr(s, name) not in (None, [])}:
        assert f"# [{name}" in text or f"# [[{name}]]" in text


def test_template_default_monetization_and_region_levels():
    assert new_scenario("game", "US") == new_scenario("game", "US", "iaa")
    us = scenario_from_text(new_scenario("game", "US", "hybrid")).scenario
    for region in REGIONS:
        s = scenario_from_text(new_scenario("game", region, "hybrid")).scenario
        lv, base = REGION_LEVELS[region], REGION_LEVELS["US"]
        # placeholders are rounded to 2-3 significant digits
        assert s.campaign.target_cpa_usd / us.campaign.target_cpa_usd == pytest.approx(
            lv.cost_index / base.cost_index, rel=0.05)
        assert s.ads.ecpm_rewarded_usd / us.ads.ecpm_rewarded_usd == pytest.approx(
            lv.ecpm_index / base.ecpm_index, rel=0.01)
        assert s.iap.tax_rate == pytest.approx(lv.tax_rate, abs=1e-4)


@pytest.mark.parametrize("args,key", [(("show", "US", None), "--kind"),
                                      (("game", "FR", None), "--region"),
                                      (("game", "us", None), "--region"),
                                      (("game", "US", "ads"), "--monetization"),
                                      (("drama", "US", "iaa"), "--monetization")])
def test_template_bad_arguments(args, key):
    with pytest.raises(ScenarioError) as err:
        new_scenario(*args)
    assert err.value.key == key and "\n" not in str(err.value)


@pytest.mark.parametrize("kind,monetization", [("game", "hybrid"), ("drama", None)])
@pytest.mark.parametrize("optional", [False, True])
def test_template_runs(kind, monetization, optional):
    """A template runs as written, and with every optional section on (creator, organic,
    share, quality, markets, rules, goal for a game)."""
    text = _template(kind, "JP", monetization, enable_optional=optional)
    loaded = scenario_from_text(text).with_overrides("simulation.draws=2", "campaign.days=2")
    ds = simcore.run(loaded)
    assert ds.sizes["draw"] == 2
    assert float(ds["spend"].sum()) > 0 and bool(ds["roas"].notnull().all())


@pytest.mark.slow
@pytest.mark.parametrize("kind,monetization", [("game", m) for m in MONETIZATIONS]
                         + [("drama", None)])
def test_template_every_draw_compiles(kind, monetization):
    """Every draw of the template's uncertain values fits (retention, purchases)."""
    loaded = scenario_from_text(new_scenario(kind, "US", monetization))
    plans = (draw_drama_plans(loaded) if kind == "drama" else draw_plans(loaded))[0]
    assert len(plans) == loaded.scenario.simulation.draws


def test_cli_schema_and_new_as_a_person_uses_them(tmp_path):
    """`simcore schema ads` prints the section; `simcore new ... > f.toml` validates."""
    from tests.cli_helpers import ok
    from tests.cli_helpers import simcore as cli

    text = ok(cli("schema", "ads", cwd=tmp_path)).stdout
    assert "ecpm_rewarded_usd" in text and "[ads]" in text
    bad = cli("schema", "adz", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "did you mean 'ads'" in bad.stderr
    template = ok(cli("new", "--kind", "drama", "--region", "BR", cwd=tmp_path)).stdout
    (tmp_path / "mine.toml").write_text(template)
    assert "valid (scenario hash" in ok(cli("validate", "mine.toml", cwd=tmp_path)).stdout
