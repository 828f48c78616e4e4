"""The package's layers, in one table, and the rules every import keeps (lazy ones included).

``LAYERS`` is the one list of the layers, bottom to top: each folder and the layers it may
import. The README's "How the code is organised" map shows the same table (checked below).
Every module of simcore is walked with ``ast`` (imports inside functions count; imports under
``if TYPE_CHECKING:`` do not, they never run); an import fails the test when it goes to a
layer its own may not import, when a module outside a title kind's folder imports that kind
(only the registry, ``simcore.kinds``, reaches a kind, by name), or when imports form a cycle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import simcore

ROOT = Path(simcore.__file__).parent

# layer -> (its modules: dotted prefixes under simcore, the layers it may import). Bottom first.
LAYERS = {
    "kernel": (("kernel",), ()),
    "scenario": (("scenario", "scenarios"), ()),
    "model": (("model",), ("kernel", "scenario")),
    "data": (("data",), ("scenario", "model")),
    "analysis": (("analysis",), ("scenario", "model", "data")),
    "figures": (("figures",), ("scenario", "model", "data", "analysis")),
    "kinds": (("kinds",), ("kernel", "scenario", "model", "data", "analysis", "figures")),
    "engine": (("engine",), ("scenario", "model", "data", "analysis", "kinds")),
    "studies": (("studies",), ("scenario", "model", "data", "analysis", "figures", "kinds",
                               "engine")),
    "text": (("text",), ("scenario", "model", "data", "analysis", "figures", "kinds", "engine",
                         "studies")),
    "cli": (("cli", "__main__"), ("kernel", "scenario", "model", "data", "analysis", "figures",
                                  "kinds", "engine", "studies", "text")),
}
# leaves every layer may import: the package root (``__version__``), the error type, seeding
LEAVES = ("", "errors", "seeding")
# re-exports kept for user code and notebooks: nothing in simcore may import them
SHIMS = ("plots", "simulate", "sensitivity", "drama")
KINDS = ("game", "drama")     # concrete kinds: simcore.kinds.<name>


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module an imported name lives in: the longest prefix that is a module of simcore."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imports_of(module: str) -> list[tuple[str, int]]:
    """The simcore modules ``module`` imports, with line numbers (lazy imports included)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(_resolve(a.name), node.lineno) for a in node.names
                      if a.name.split(".")[0] == "simcore"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            if base.split(".")[0] != "simcore":
                continue
            for alias in node.names:         # ``from pkg import submodule`` imports it
                found.append((_resolve(f"{base}.{alias.name}"), node.lineno))
    return [(m, line) for m, line in found if m != module]


def layer_of(module: str) -> str:
    rest = module.removeprefix("simcore").removeprefix(".")
    if rest in LEAVES:
        return "leaf"
    if rest in SHIMS:
        return "shim"
    for layer, (prefixes, _) in LAYERS.items():
        if any(rest == p or rest.startswith(p + ".") for p in prefixes):
            return layer
    raise AssertionError(f"{module} is in no layer: add its folder to LAYERS")


def _kind_of(module: str) -> str | None:
    """The concrete kind a module belongs to (``simcore.kinds.<kind>...``), else None."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["simcore", "kinds"] else None


def test_every_module_is_in_one_layer():
    for module in MODULES:
        layer_of(module)


def test_imports_go_down_only():
    bad = []
    for module in MODULES:
        layer = layer_of(module)
        for target, line in imports_of(module):
            to = layer_of(target)
            if to == "shim":
                bad.append(f"{module}:{line} imports {target}, kept for user code only")
            elif layer == "leaf" and to != "leaf":
                bad.append(f"{module}:{line} (a leaf) imports {target}")
            elif layer not in ("leaf", "shim") and to not in ("leaf", layer) \
                    and to not in LAYERS[layer][1]:
                bad.append(f"{module}:{line} ({layer}) imports {target} ({to})")
    assert bad == [], "imports against the layers:\n" + "\n".join(bad)


def test_only_a_kind_imports_itself():
    bad = []
    for module in MODULES:
        if layer_of(module) == "shim":
            continue
        for target, line in imports_of(module):
            kind = _kind_of(target)
            if kind is not None and kind in KINDS and _kind_of(module) != kind:
                bad.append(f"{module}:{line} imports {target}")
    assert bad == [], ("only the registry reaches a concrete kind (simcore.kinds.get):\n"
                       + "\n".join(bad))


def test_no_import_cycles():
    graph = {m: sorted({t for t, _ in imports_of(m)}) for m in MODULES}
    state: dict[str, int] = {}             # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in graph[module]:
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_the_readme_map_is_this_table():
    """The README's map lists the layers in this order, each with what it may import."""
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### How the code is organised", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w/.]+)` \| [^|]+ \| ([^|]+) \|$", section, re.M)
    listed = {}
    for folder, may in rows:
        layer = folder.rstrip("/").removesuffix(".py").replace("__main__", "cli")
        listed[layer] = tuple(re.findall(r"`([\w]+)`", may))
    assert list(listed) == list(LAYERS)
    for layer, (_, may) in LAYERS.items():
        assert set(listed[layer]) == set(may), layer
