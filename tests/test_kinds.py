"""The title-kind registry: every dataset says its kind, and shared layers never branch on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simcore
from simcore import kinds

SHARED = ("cli.py", "simulate.py", "sweeps.py", "sensitivity.py", "summary.py", "report.py",
          "plots.py", "workload.py", "analysis.py", "dataset.py", "scale.py", "markets.py")
ROOT = Path(simcore.__file__).parent


def _kind_comparisons(path: Path) -> list[str]:
    """Comparisons of anything with a kind's name ("game", "drama") in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = [n.value for n in (node.left, *node.comparators)
                     if isinstance(n, ast.Constant) and n.value in kinds._MODULES]
            if names:
                hits.append(f"{path.name}:{node.lineno}")
    return hits


def test_shared_layers_never_branch_on_the_kind():
    hits = [h for name in SHARED for h in _kind_comparisons(ROOT / name)]
    assert hits == [], f"shared modules compare with a kind name: {hits}"


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
