"""The analysis commands end to end (``python -m simcore summary | plot | report``) on one
small run made once for the module; bad input is one line, exit 2, and no output file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tests.cli.test_cli import ok, one_line_error, simcore

RUN = ["reborn_emperor_us", "--draws", 6, "--set", "campaign.days=2",
       "--set", "campaign.daily_budget_usd=300", "--set", "simulation.horizon_days=30"]
KINDS = ("fan", "payback", "hist", "tornado", "ltv")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(folder, stdout of ``simcore run``, dataset path) of the small run."""
    folder = tmp_path_factory.mktemp("run")
    (folder / "tmp").mkdir()
    result = ok(simcore("run", *RUN, "-o", "tmp/run.nc", cwd=folder))
    return folder, result.stdout, folder / "tmp" / "run.nc"


@pytest.fixture(scope="module")
def run_with_params(run):
    """The small run with two uncertain parameters added by hand, saved beside it."""
    from simcore.data.dataset import read_run, write_dataset

    ds = read_run(run[2])
    ds = ds.drop_vars([v for v in ds.data_vars if str(v).startswith("param_")])
    ds = ds.assign({
        "param_ads.ecpm_rewarded_usd": ("draw", 5.0 * ds.roas.sel(age=7).values,
                                        {"units": "USD", "long_name": "rewarded eCPM",
                                         "distribution": "lognormal(median=12, p90=20)"}),
        "param_retention.d1": ("draw", np.linspace(0.25, 0.4, ds.sizes["draw"]),
                               {"units": "1", "long_name": "D1 retention",
                                "distribution": "uniform(0.25, 0.4)"}),
    })
    return write_dataset(ds, run[0] / "tmp" / "params.nc")


def svg_text(path: Path) -> str:
    return " ".join(t.strip() for t in ET.parse(path).getroot().itertext() if t.strip())


# --- help ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command, mentions", [
    ("summary", ("--day", "--target")),
    ("plot", ("--kind", "--output", "--day", "--target", *KINDS)),
    ("report", ("--output", "--day", "--target")),
])
def test_help(command, mentions):
    result = ok(simcore(command, "--help"))
    assert result.stdout.startswith(f"usage: simcore {command}")
    for text in mentions:
        assert text in result.stdout, text


def test_top_level_help_lists_the_commands():
    out = ok(simcore("--help")).stdout
    assert "plot" in out and "report" in out


# --- summary ------------------------------------------------------------------------------------

def test_summary_default_is_the_run_summary(run):
    folder, run_stdout, _ = run
    result = ok(simcore("summary", "tmp/run.nc", cwd=folder))
    assert result.stderr == ""
    assert result.stdout.splitlines() == run_stdout.splitlines()[:-2]
    assert "(ROAS D30 >= 1)" in result.stdout       # no [goal]: payback by the horizon


def test_summary_day_and_target(run):
    folder, _, _ = run
    result = ok(simcore("summary", "tmp/run.nc", "--day", 3, "--target", 1.5, cwd=folder))
    assert "(ROAS D3 >= 1.5)" in result.stdout
    assert "drivers of ROAS D3" in result.stdout
    assert result.stdout.splitlines()[0].startswith("Reborn Emperor (US)  (6 draws,")


# --- plot ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ("fan",))   # hist and tornado: SVG below; all: test_plots
def test_plot_png(kind, run, tmp_path):
    result = ok(simcore("plot", run[2], "--kind", kind, "-o", "fig.png", cwd=tmp_path))
    assert result.stdout == f"{kind} figure written to fig.png\n" and result.stderr == ""
    img = imread(tmp_path / "fig.png")
    assert img.shape[:2] == (450, 800)
    rgb = np.round(img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) >= 8
    assert np.mean(np.any(img[60:-60, 100:-40, :3] < 0.9, axis=-1)) > 0.002   # not blank
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]        # no temp file left


def test_plot_hist_svg_with_day_and_target(run, tmp_path):
    ok(simcore("plot", run[2], "--kind", "hist", "--day", 3, "--target", 1.5,
               "--output", "hist.svg", cwd=tmp_path))
    text = svg_text(tmp_path / "hist.svg")
    assert "Reborn Emperor (US): ROAS at D3, P(ROAS >= 1.5) = " in text
    assert "ROAS at D3" in text and "draws" in text


def test_plot_tornado_with_parameters(run_with_params, tmp_path):
    ok(simcore("plot", run_with_params, "--kind", "tornado", "-o", "t.svg", cwd=tmp_path))
    text = svg_text(tmp_path / "t.svg")
    assert "ads.ecpm_rewarded_usd" in text and "retention.d1" in text
    assert "ROAS on UA at D30" in text                    # no [goal]: the horizon
    assert "no uncertain parameters" not in text


# --- report -------------------------------------------------------------------------------------

def test_report(run_with_params, tmp_path):
    result = ok(simcore("report", run_with_params, "-o", "report.html", "--day", 3,
                        "--target", 1.5, cwd=tmp_path))
    assert result.stdout == "report written to report.html\n"
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h1>Reborn Emperor (US)</h1>" in page
    assert page.count('<img alt="') == 5 and page.count('src="data:image/png;base64,') == 5
    assert "ROAS D3 reaches 1.5" in page and "ads.ecpm_rewarded_usd" in page
    assert "http://" not in page and "https://" not in page
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("args, mentions", [
    (["plot", "DS", "--kind", "fan", "-o", "nosuch/fig.png"], ("--output", "nosuch")),
    (["plot", "DS", "--kind", "fan", "-o", "fig.pdf"], ("--output", ".png or .svg")),
    (["plot", "DS", "--kind", "fan", "-o", "fig"], ("--output", ".png or .svg")),
    (["plot", "DS", "--kind", "hist", "-o", "fig.png", "--day", 31], ("--day", "31", "30")),
    (["plot", "DS", "--kind", "fan", "-o", "fig.png", "--target", 0], ("--target",)),
    (["plot", "DS", "--kind", "hist", "-o", "fig.png", "--target", "nan"], ("--target",)),
    (["plot", "DS", "--kind", "pie", "-o", "fig.png"], ("--kind", "pie")),
    (["plot", "DS", "--kind", "fan"], ("--output",)),
    (["plot", "DS", "--kind", "fan", "-o", "fig.png", "--day", "x"], ("--day",)),
    (["plot", "nothere.nc", "--kind", "fan", "-o", "fig.png"], ("nothere.nc",)),
    (["report", "DS", "-o", "report.pdf"], ("--output", ".html")),
    (["report", "DS", "-o", "nosuch/report.html"], ("--output", "nosuch")),
    (["report", "DS", "-o", "report.html", "--day", -1], ("--day", "-1")),
    (["report", "DS", "-o", "report.html", "--target", -1], ("--target",)),
    (["report", "nothere.nc", "-o", "report.html"], ("nothere.nc",)),
    (["summary", "DS", "--day", 31], ("--day", "31")),
    (["summary", "DS", "--target", 0], ("--target",)),
], ids=lambda v: "_".join(map(str, v)) if isinstance(v, list) else None)
def test_bad_input_is_one_line_and_writes_nothing(run, tmp_path, args, mentions):
    args = [run[2] if a == "DS" else a for a in args]
    line = one_line_error(simcore(*args, cwd=tmp_path))
    for text in mentions:
        assert text in line, (text, line)
    assert list(tmp_path.iterdir()) == []


def test_output_is_a_folder(run, tmp_path):
    (tmp_path / "fig.png").mkdir()
    line = one_line_error(simcore("plot", run[2], "--kind", "fan", "-o", "fig.png",
                                  cwd=tmp_path))
    assert "--output" in line and "folder" in line
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]
    assert not any((tmp_path / "fig.png").iterdir())


def test_plot_of_a_foreign_file(tmp_path):
    (tmp_path / "fake.nc").write_text("not NetCDF\n")
    line = one_line_error(simcore("plot", "fake.nc", "--kind", "fan", "-o", "fig.png",
                                  cwd=tmp_path))
    assert "fake.nc" in line and "NetCDF" in line
    assert [p.name for p in tmp_path.iterdir()] == ["fake.nc"]
