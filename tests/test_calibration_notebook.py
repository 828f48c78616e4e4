"""notebooks/calibrate_live_campaign.ipynb runs top to bottom and says what it claims: a live
campaign replayed day by day, calibrated on each morning's report, the truth revealed last."""

from __future__ import annotations

import json

import pytest

from tests.test_notebooks import (  # noqa: F401
    ROOT,
    execute,
    kernel_env,
    nbformat,
    png_figures,
    simcore_imports,
    stored_clean,
    tagged,
    text_of,
)

NOTEBOOK = ROOT / "notebooks" / "calibrate_live_campaign.ipynb"
MARK = "SIMCORE_CALIBRATION_REPLAY_JSON "
REPORT_DAYS = [2, 4, 7, 10, 14]


def test_calibration_notebook_is_stored_clean():
    nb = stored_clean(NOTEBOOK, ("SIMCORE_NB_PARTICLES", "SIMCORE_NB_DRAWS",
                                 "SIMCORE_NB_REPORT_DAYS", "SCALE_AT", "STOP_AT"))
    assert simcore_imports(nb) == ["from simcore import analysis",
                                   "from simcore.data.observed import from_run",
                                   "import simcore"]


def _marker(cell) -> dict:
    """The JSON the reveal cell printed after ``MARK`` (stream output only: ``text_of`` also
    joins a figure's text/plain, which has no newline)."""
    printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
    line = next(ln for ln in printed.splitlines() if ln.startswith(MARK))
    return json.loads(line[len(MARK):])


@pytest.mark.slow
def test_calibration_notebook_runs(kernel_env):  # noqa: F811
    nb = execute(NOTEBOOK, kernel_env)
    assert len(png_figures(nb)) >= 3          # the interval figure, retention moves, the reveal

    code = [c for c in nb.cells if c.cell_type == "code"]
    reveal = tagged(nb, "reveal")
    assert code[-1] is reveal, "the reveal must be the last code cell"
    # nothing of the truth is shown before the reveal
    for cell in code[:-1]:
        assert "The truth" not in text_of(cell) and MARK not in text_of(cell)
    assert any(o.output_type == "display_data" and "image/png" in o.data
               for o in reveal.outputs), "the reveal redraws the figure with the truth"

    table = text_of(tagged(nb, "table"))
    for column in ("D90 ROAS median", "D90 80 % interval", "D90 95 % interval",
                   "P(ROAS D90 >= 1)", "P(payback by D180)", "decision"):
        assert column in table, column
    retention = text_of(tagged(nb, "retention"))
    for key in ("retention.d7", "retention.d30", "retention.d90", "prior", "day 14"):
        assert key in retention, key
    text = text_of(tagged(nb, "format"))
    for part in ("Fit at the observed ages", "Assumptions, prior -> posterior",
                 "95 % interval", "P(payback)", "first 14 days"):
        assert part in text, part

    out = _marker(reveal)
    assert out["revealed"] is True
    assert out["report_days"] == REPORT_DAYS
    assert (out["particles"], out["draws"]) == (300, 60)
    days = [str(d) for d in REPORT_DAYS]
    # the claim of the notebook: the D90 interval narrows from day 2 to day 14
    assert out["width_80"]["14"] < out["width_80"]["2"]
    assert out["width_95"]["14"] < out["width_95"]["2"]
    truth = out["truth_d90"]
    assert truth > 0
    for d in days:
        lo95, hi95 = out["d90_95"][d]
        lo80, hi80 = out["d90_80"][d]
        assert lo95 <= lo80 <= out["d90_median"][d] <= hi80 <= hi95
        assert out["width_80"][d] == pytest.approx(hi80 - lo80)
        assert out["covered_80"][d] == (lo80 <= truth <= hi80)
        assert out["covered_95"][d] == (lo95 <= truth <= hi95)
        p = out["p_roas_d90"][d]
        assert 0.0 <= p <= 1.0 and 0.0 <= out["p_payback_d180"][d] <= 1.0
        # the decision rule the notebook states
        expected = "scale" if p >= 0.8 else "stop" if p <= 0.2 else "keep testing"
        assert out["decision"][d] == expected
    assert "Verdict:" in text_of(reveal)
