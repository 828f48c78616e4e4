"""Running the CLI the way a person does (a subprocess) and writing scenario TOML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TIMEOUT_S = 300


def simcore(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m simcore ARGS`` in ``cwd``, output captured as text."""
    return subprocess.run([sys.executable, "-m", "simcore", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """The result, after asserting the command succeeded (its stderr tail if not)."""
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-3000:]}"
    return result


def render(sections: dict[str, dict[str, str]]) -> str:
    """TOML text of sections {name: {key: TOML literal}}."""
    out = []
    for name, keys in sections.items():
        out.append(f"[{name}]")
        out += [f"{k} = {v}" for k, v in keys.items()]
        out.append("")
    return "\n".join(out)
