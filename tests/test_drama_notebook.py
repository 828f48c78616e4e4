"""notebooks/drama_strategy.ipynb runs top to bottom at small size and says what it claims."""

from __future__ import annotations

import pytest

from tests.test_notebooks import (ROOT, SUMMARY_MARK, execute, kernel_env, nbformat,  # noqa: F401
                                  png_figures, summary_of, tagged, text_of)

DRAMA = ROOT / "notebooks" / "drama_strategy.ipynb"


def test_drama_notebook_is_stored_clean():
    nb = nbformat.read(DRAMA, as_version=4)
    nbformat.validate(nb)
    assert all(not c.outputs and c.execution_count is None
               for c in nb.cells if c.cell_type == "code")
    assert "SIMCORE_NB_DRAWS" in tagged(nb, "parameters").source


def test_drama_notebook_runs(kernel_env, monkeypatch):  # noqa: F811
    for name, value in (("SIMCORE_NB_DRAWS", "3"), ("SIMCORE_NB_DAYS", "2"),
                        ("SIMCORE_NB_HORIZON", "20"), ("SIMCORE_NB_BUDGETS", "300,1500")):
        monkeypatch.setenv(name, value)
    check = ("import json\n"
             f"print({SUMMARY_MARK!r} + json.dumps({{'draws': DRAWS, 'results': results, "
             "'budgets': [float(b) for b in scale]}))")
    nb = execute(DRAMA, kernel_env, [check])
    assert len(png_figures(nb)) == 4
    table = text_of(tagged(nb, "comparison"))
    for label in ("ROAS on UA D20", "revenue: coins [USD]", "revenue: licence [USD]",
                  "series P&L D20 [USD]", "ROI incl. production", "P(series profit)",
                  "paywall", "free + licence", "hybrid"):
        assert label in table, label
    assert "Verdict:" in text_of(tagged(nb, "conclusion"))
    summary = summary_of(nb)
    assert summary["draws"] == 3 and summary["budgets"] == [300.0, 1500.0]
    paywall, free, hybrid = (summary["results"][n] for n in ("paywall", "free + licence",
                                                              "hybrid"))
    assert free["sources"]["coins"] == free["sources"]["passes"] == 0.0
    assert free["sources"]["licence"] == 10000.0 and paywall["sources"]["licence"] == 0.0
    # the hybrid is the paywalled series plus the deal: the same viewers, more revenue
    assert hybrid["viewers"] == paywall["viewers"]
    assert hybrid["sources"]["coins"] == pytest.approx(paywall["sources"]["coins"])
    extra = hybrid["revenue"] - paywall["revenue"]
    assert extra == pytest.approx(10000.0 + hybrid["sources"]["ad_share"])
    assert hybrid["pnl"]["mean"] == pytest.approx(paywall["pnl"]["mean"] + extra)
