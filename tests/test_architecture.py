"""The layout stays as ARCHITECTURE.md draws it: imports point down the layers, never in a cycle, one
model package never imports another, and no module grows past 400 lines."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "sim"
MAX_LINES = 400
# lowest first; a module may import from its own layer only within its own package (or a package above
# it in the same layer: sim.core.walk may use sim.core's shared modules, not sim.core.epstein)
LAYERS = (
    ("foundation", ("sim.errors", "sim.config", "sim.atomic", "sim.gc_pause", "sim.provenance", "sim.figures",
                    "sim.resources", "sim.caches")),
    ("engines and maps", ("sim.core", "sim.geo")),
    ("run folders", ("sim.results", "sim.schema", "sim.headlines", "sim.stepping", "sim.traj")),
    ("models", ("sim.protest", "sim.epstein")),
    ("registry", ("sim.kinds",)),
    ("applications", ("sim.run", "sim.viz", "sim.verify", "sim.analysis")),
    ("entry points", ("sim.cli", "sim.cli_map", "sim.cli_analysis", "sim.__main__", "sim")),
)


def _module(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _modules() -> dict[str, Path]:
    return {_module(p): p for p in SIM.rglob("*.py")}


def _imports(name: str, path: Path, modules) -> set[str]:
    """The sim modules ``name`` imports anywhere in its code (function-level imports too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in modules and t != name}
    return found


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(name: str) -> tuple[int, str]:
    """(layer index, the package the module counts as part of)."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (index, prefix)
    assert best is not None, f"{name} is in no layer of ARCHITECTURE.md: add it to LAYERS and the document"
    return best


def _unit(name: str, is_package: bool) -> str:
    return name if is_package else name.rsplit(".", 1)[0]


def test_every_import_points_down_the_layers():
    modules = _modules()
    wrong = []
    for name, targets in _graph().items():
        layer, _ = _layer(name)
        here = _unit(name, modules[name].name == "__init__.py")
        for target in targets:
            other, _ = _layer(target)
            there = _unit(target, modules[target].name == "__init__.py")
            if other > layer:
                wrong.append(f"{name} imports {target}, a layer above it")
            elif other == layer and not (there == here or here.startswith(there + ".")) and name != "sim":
                wrong.append(f"{name} imports {target}, beside it in the same layer")
    assert not wrong, "\n".join(wrong)


def test_there_are_no_import_cycles():
    graph = _graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("path", sorted(SIM.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by job"


def test_the_checks_can_fail(tmp_path, monkeypatch):
    """The graph sees an upward import hidden in a function, and a cycle."""
    modules = {"sim.core.x": tmp_path / "x.py", "sim.protest.y": tmp_path / "y.py"}
    modules["sim.core.x"].write_text("def f():\n    from ..protest import y\n")
    modules["sim.protest.y"].write_text("from ..core import x\n")
    graph = {n: _imports(n, p, modules) for n, p in modules.items()}
    assert graph == {"sim.core.x": {"sim.protest.y"}, "sim.protest.y": {"sim.core.x"}}
    assert _layer("sim.core.x")[0] < _layer("sim.protest.y")[0]
