"""The example notebooks run top to bottom and say what they claim (small runs, default suite).

Each notebook is executed with nbclient in a temporary working directory, on a kernel spec
written here that points at this interpreter (``sys.executable``), so a fresh virtual
environment needs no ``ipykernel install`` and a user-level ``python3`` kernel cannot take over.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
WHAT_IF = ROOT / "notebooks" / "what_if.ipynb"
CELL_TIMEOUT_S = 600
SUMMARY_MARK = "SIMCORE_SUMMARY_JSON "
# row labels of the what-if comparison table (DAY = 7, TARGET = 1, horizon 180)
COMPARISON_ROWS = (
    "ROAS D0 median [p5, p95]", "ROAS D1 median [p5, p95]", "ROAS D7 median [p5, p95]",
    "ROAS D30 median [p5, p95]", "P(ROAS D7 >= 1)", "median payback day",
    "share never paying back by D180", "realised CPA (median)", "break-even CPA D7 (P=50%)",
    "break-even CPA D7 (P=80%)", "net profit, mean", "net profit, p5", "net profit, CVaR 5%",
    "P(loss)",
)


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A ``python3`` kernel spec for this interpreter, found first through JUPYTER_PATH; the
    kernel imports simcore from this checkout and draws headless."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (simcore test)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    pythonpath = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), pythonpath])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    work = tmp_path / "work"
    work.mkdir()
    return work


def execute(path: Path, cwd: Path, extra_cells=()):
    """The notebook at ``path`` executed in ``cwd``, with ``extra_cells`` (source strings)
    appended in memory; raises ``nbclient.exceptions.CellExecutionError`` on any error."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in extra_cells)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                                     allow_errors=False, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return nb


def text_of(cell) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
    return "".join(parts)


def png_figures(nb) -> list:
    """The PNG figures a notebook displayed, after checking that no cell errored."""
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return [o for o in outputs if o.output_type == "display_data" and "image/png" in o.data]


def summary_of(nb) -> dict:
    """The JSON the appended summary cell printed after ``SUMMARY_MARK``."""
    line = next(ln for ln in text_of(nb.cells[-1]).splitlines() if ln.startswith(SUMMARY_MARK))
    return json.loads(line[len(SUMMARY_MARK):])


def tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def stored_clean(path: Path, parameters=()):
    """The notebook at ``path``, checked: valid, a python3 kernel, no outputs stored, and
    each name of ``parameters`` in its cell tagged ``parameters``."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    params = tagged(nb, "parameters").source
    for name in parameters:
        assert name in params, name
    return nb


def simcore_imports(nb) -> list[str]:
    """The notebook's ``import simcore`` / ``from simcore`` lines, sorted (the public API it
    uses: a notebook must survive modules moving inside simcore)."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return sorted(ln.strip() for ln in code.splitlines()
                  if ln.strip().startswith(("import simcore", "from simcore")))


def test_what_if_notebook_is_stored_clean():
    stored_clean(WHAT_IF, ("SIMCORE_NB_DRAWS", "SIMCORE_NB_DAYS"))


def test_what_if_notebook_runs(kernel_env, monkeypatch):
    monkeypatch.setenv("SIMCORE_NB_DRAWS", "6")
    monkeypatch.setenv("SIMCORE_NB_DAYS", "2")
    summary_cell = ("import json, sys\n"
                    f"print({SUMMARY_MARK!r} + json.dumps({{'draws': DRAWS, 'days': DAYS, "
                    "'python': sys.executable, 'results': results}))")
    nb = execute(WHAT_IF, kernel_env, [summary_cell])

    images = png_figures(nb)
    assert len(images) >= 3, f"{len(images)} PNG figures"

    table = text_of(tagged(nb, "comparison"))
    for label in COMPARISON_ROWS:
        assert label in table, f"row {label!r} missing from the comparison table:\n{table}"
    assert "base" in table and "pessimistic" in table

    conclusion = text_of(next(c for c in nb.cells if c.get("id") == "conclusion"))
    assert "Verdict:" in conclusion and "pessimistic" in conclusion

    summary = summary_of(nb)
    assert (summary["draws"], summary["days"]) == (6, 2)
    assert Path(summary["python"]).resolve() == Path(sys.executable).resolve()
    base, pess = summary["results"]["base"], summary["results"]["pessimistic"]
    assert pess["roas"]["D7"]["median"] < base["roas"]["D7"]["median"]
    # the same seed pairs the draws: lower eCPM and dearer users move every figure one way
    assert pess["break_even_cpa_p50"] < base["break_even_cpa_p50"]
    assert pess["median_cpa"] > base["median_cpa"]
    assert pess["profit"]["mean"] < base["profit"]["mean"]
    for case in (base, pess):
        d = case["roas"]["D7"]
        assert 0 <= d["p5"] <= d["median"] <= d["p95"]
        assert 0.0 <= case["prob_roas_day"] <= 1.0
        assert 0.0 <= case["never_pays_back"] <= 1.0


SENSITIVITY = ROOT / "notebooks" / "sensitivity.ipynb"


def test_sensitivity_notebook_runs(kernel_env, monkeypatch):
    for name, value in (("SIMCORE_NB_SOBOL_N", "4"), ("SIMCORE_NB_DAYS", "1"),
                        ("SIMCORE_NB_BUDGET", "150"), ("SIMCORE_NB_HORIZON", "30")):
        monkeypatch.setenv(name, value)
    check = ("import json\n"
             f"print({SUMMARY_MARK!r} + json.dumps({{'outputs': list(sobol.output.values), "
             "'n': N, 'swing_keys': list(oat.parameter.values)}))")
    nb = execute(SENSITIVITY, kernel_env, [check])
    assert len(png_figures(nb)) == 2
    conclusion = text_of(tagged(nb, "conclusion"))
    assert "matters most for ROAS D1" in conclusion and "swing of ROAS D7" in conclusion
    summary = summary_of(nb)
    assert summary["n"] == 4
    assert summary["outputs"] == ["roas_d0", "roas_d1", "roas_d3", "roas_d7", "roas_d14",
                                  "roas_d30"]
    assert "ads.ecpm_rewarded_usd" in summary["swing_keys"]
    stored = nbformat.read(SENSITIVITY, as_version=4)
    assert all(not c.outputs for c in stored.cells if c.cell_type == "code")
