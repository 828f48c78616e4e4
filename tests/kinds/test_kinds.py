"""The title-kind registry: every dataset says its kind, and shared layers never branch on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simcore
from simcore import kinds

ROOT = Path(simcore.__file__).parent
# every module outside the registry and the kinds' folders, and outside the scenario schema,
# which declares each kind's sections and checks that a scenario gives those of its kind
SHARED = sorted(p for p in ROOT.rglob("*.py")
                if p.relative_to(ROOT).parts[0] not in ("kinds", "scenario"))
# variables only one kind's datasets have: reading them is the kind's business
OWN_VARIABLES = ("episode_viewers", "series_pnl", "series_payback_day")


def _kind_comparisons(path: Path) -> list[str]:
    """Comparisons of anything with a kind's name ("game", "drama") in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = [n.value for n in (node.left, *node.comparators)
                     if isinstance(n, ast.Constant) and n.value in kinds._MODULES]
            if names:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif isinstance(node, ast.Constant) and node.value in OWN_VARIABLES:
            hits.append(f"{path.relative_to(ROOT)}:{node.lineno} ({node.value})")
    return hits


def test_shared_layers_never_branch_on_the_kind():
    """No ``kind == "drama"`` and no sniffing of a kind's own dataset variables outside
    ``simcore/kinds/``: shared code asks the registry."""
    hits = [h for path in SHARED for h in _kind_comparisons(path)]
    assert hits == [], f"shared modules branch on the kind: {hits}"


def test_every_kind_is_registered_with_its_figures():
    assert set(kinds._MODULES) == set(kinds.FIGURES) == {"game", "drama"}
    for name in kinds._MODULES:
        assert kinds.get(name).name == name
    with pytest.raises(ValueError, match="unknown title kind"):
        kinds.get("podcast")


@pytest.mark.parametrize("name, kind", [("brain_puzzle_us", "game"),
                                        ("drama_paywall_us", "drama")])
def test_datasets_carry_their_kind_and_old_files_read_as_games(name, kind):
    loaded = simcore.load_scenario(name, ["simulation.draws=2", "campaign.days=2",
                                          "simulation.horizon_days=14"])
    ds = simcore.run(loaded)
    assert ds.attrs["kind"] == kind == kinds.for_scenario(loaded).name
    assert kinds.for_dataset(ds).name == kind
    old = ds.copy()
    del old.attrs["kind"]
    assert kinds.name_of(old) == "game"
