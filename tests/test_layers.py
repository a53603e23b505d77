"""Python imports run one way (the web app's modules have tests/web/test_modules.py).

The layers, lowest first — a module may import from its own layer's lower ranks and from any
layer below, never from above:

1. `signaling/`, `matching/`: the live connection and the matching service; they import
   nothing from `app/` (nor from each other). `classroom/` (class media) sits on `signaling/`.
2. `app/config.py`, `app/kit/` (shared plumbing, incl. the one clock), `app/models/` (all ORM
   models): they import no domain.
3. The domains, in `DOMAINS` order: each may import the domains before it, never one after it
   (so helprequests → match → live, never back). Work that crosses domains lives in the domain
   that drives it (`app/helprequests/flows.py` files a request into `app/match`).
4. Entry points, in `ENTRY` order: `app/web/` (static files), `app/health.py`, `app/seed/`
   (demo and reference data), `app/prestart.py` (migrate and seed), `app/main.py` (the app
   factory), `app/cli.py`. Nothing below imports them.

Every `import` counts, also one inside a function: a deferred import hides a cycle, it does
not remove it. No module takes part in a cycle either, even inside one package."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "matching", "signaling", "classroom")

LIBRARIES = {"signaling": 0, "matching": 0, "classroom": 1}
FOUNDATION = ("app.config", "app.kit", "app.models")
DOMAINS = ("accounts", "subjects", "schools", "calendar", "tutors", "stats", "live", "qa", "safety", "match",
           "helprequests", "classes", "lessons")
ENTRY = ("app.web", "app.health", "app.seed", "app.prestart", "app.main", "app.cli", "app")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports (resolving relative imports and `from x import y`
    where y is a module)."""
    wanted: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            wanted += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join(here + ([base] if base else []))
            wanted += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    found = set()
    for target in wanted:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def layer(module: str) -> tuple[int, int, str]:
    """(layer, rank inside it, unit): the unit is the package a rule speaks of."""
    top = module.split(".")[0]
    if top in LIBRARIES:
        return 1, LIBRARIES[top], top
    for unit in FOUNDATION:
        if module == unit or module.startswith(unit + "."):
            return 2, FOUNDATION.index(unit), unit
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in DOMAINS:
        return 3, DOMAINS.index(parts[1]), "app." + parts[1]
    for unit in ENTRY:
        if module == unit or (unit != "app" and module.startswith(unit + ".")):
            return 4, ENTRY.index(unit), unit
    raise AssertionError(f"{module} has no layer: add it to tests/test_layers.py (and the README's Layout)")


def test_every_module_has_a_layer() -> None:
    for module in graph():
        layer(module)


def test_no_import_from_a_higher_layer() -> None:
    wrong = []
    for source, targets in sorted(graph().items()):
        s_layer, s_rank, s_unit = layer(source)
        for target in sorted(targets):
            t_layer, t_rank, t_unit = layer(target)
            if t_unit == s_unit:
                continue
            if (t_layer, t_rank) > (s_layer, s_rank) or (t_layer == s_layer and t_rank == s_rank):
                wrong.append(f"{source} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_cycle_between_modules() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " → ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])


def test_the_checker_sees_a_cycle_and_an_upward_import() -> None:
    """The rules above can fail: a made-up upward import is caught by the same functions."""
    assert layer("app.kit.db") < layer("app.live.service") < layer("app.main")
    assert layer("app.match.flows") > layer("app.live.service")
    assert layer("signaling.ws") < layer("app.kit.db")
    known = modules()
    edges = imports("app.helprequests.flows", known["app.helprequests.flows"], known)
    assert "app.match.flows" in edges  # the resolver reads `from app.match.flows import …`
    edges = imports("app.match.flows", known["app.match.flows"], known)
    assert "app.match.service" in edges  # and `from .service import …`


# ---- one shape per domain ------------------------------------------------------------------
# Every domain: `endpoints.py` (parse, authorise through a dependency, call the service, return
# a schema), `service.py` (the rules and the SQL), `schemas.py` (the pydantic models). More
# files where a domain has more ideas (`flows.py` for work that crosses domains, `records.py`,
# `roster.py`, …), but no pydantic model outside schemas.py and no SQL in an endpoint file.
SQL_IN_ENDPOINTS = ("sqlalchemy", "db.execute(", "db.get(", "db.add(", "db.add_all(", "db.delete(", "db.scalar(")


def test_every_domain_has_the_same_shape() -> None:
    for domain in DOMAINS:
        folder = ROOT / "app" / domain
        for part in ("endpoints.py", "service.py", "schemas.py"):
            assert (folder / part).exists(), f"app/{domain}/ has no {part}"


def test_pydantic_models_live_in_schemas() -> None:
    for domain in DOMAINS:
        for path in (ROOT / "app" / domain).glob("*.py"):
            if path.name == "schemas.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                    assert "BaseModel" not in bases, f"app/{domain}/{path.name} declares {node.name}: put it in schemas.py"


def test_no_sql_in_endpoint_files() -> None:
    for domain in DOMAINS:
        text = (ROOT / "app" / domain / "endpoints.py").read_text()
        found = [marker for marker in SQL_IN_ENDPOINTS if marker in text]
        assert not found, f"app/{domain}/endpoints.py runs SQL ({', '.join(found)}): move it into the service"


# ---- habits ----------------------------------------------------------------------------------
IGNORE = re.compile(r"# type: ignore(?:\[[^\]]*\])?(?P<why>.*)|# noqa(?::\s*[A-Z]+[0-9]+(?:,\s*[A-Z]+[0-9]+)*)?(?P<why2>.*)")


def test_every_ignore_says_why() -> None:
    """A `# type: ignore[…]` or `# noqa: …` silences a checker; the comment after it says why
    (ruff and mypy run in `make test`, and warn_unused_ignores drops the stale ones)."""
    bare = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                for found in IGNORE.finditer(line):
                    why = (found.group("why") or found.group("why2") or "").strip(" -#")
                    if not why:
                        bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "ignores without a reason:\n" + "\n".join(bare)


def test_the_ignore_check_reads_codes_and_reasons() -> None:
    def why(line: str) -> str:
        found = IGNORE.search(line)
        assert found is not None
        return (found.group("why") or found.group("why2") or "").strip(" -#")

    assert why("x = 1  # noqa: BLE001") == "" and why("f()  # type: ignore[attr-defined]") == ""
    assert why("x  # noqa: BLE001 - a failed pass must not stop") == "a failed pass must not stop"
