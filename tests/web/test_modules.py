"""The web app's ES modules import one way: no circle, static or dynamic (the shell loads the
views; views and components never import the shell or each other's views)."""
from __future__ import annotations

import re
from pathlib import Path

JS = Path(__file__).resolve().parents[2] / "app" / "web" / "static" / "js"
IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}/[^'"]+)['"]""", re.M)


def graph() -> dict[Path, set[Path]]:
    edges: dict[Path, set[Path]] = {}
    for path in JS.rglob("*.js"):
        if "vendor" in path.parts:
            continue
        edges[path] = {(path.parent / target).resolve() for target in IMPORT.findall(path.read_text())}
    return edges


def test_imports_resolve_to_files() -> None:
    for source, targets in graph().items():
        for target in targets:
            assert target.exists(), f"{source.relative_to(JS)} imports {target} which does not exist"


def test_no_import_cycle() -> None:
    edges = graph()
    state: dict[Path, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: Path, path: list[Path]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                raise AssertionError("import cycle: " + " → ".join(str(p.relative_to(JS)) for p in cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_views_do_not_import_other_views() -> None:
    for source, targets in graph().items():
        if source.parent.name == "views":
            assert not [t for t in targets if t.parent.name == "views"], f"{source.name} imports another view"
