"""Architecture checks (issue 15): no import cycle, one-way layering between apps, no private or hidden imports."""

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The apps from the bottom layer up: an app may import only the apps before it (docs/decisions.md, "Layout").
# chu_portal is the project's plumbing; audit imports no app but chu_portal (retention cannot read the
# hospital record); accounts -> records -> dmp -> fhir is one way; demo seeds them all, nothing imports it.
LAYERS = ("chu_portal", "audit", "accounts", "records", "dmp", "record_requests", "fhir", "demo")

# The root URLconf mounts every app's API: the one module allowed to import upwards (still no cycles).
LAYERING_EXEMPT = frozenset({"chu_portal.urls"})

FUNCTION_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True)
class Import:
    """One edge of the import graph: `source` imports the project module `target` at `line`."""

    source: str
    target: str
    line: int
    deferred: bool  # inside a function or method
    names: tuple[str, ...] = ()  # the names a `from target import ...` takes that are not submodules


def module_name(path: Path) -> str:
    """The dotted name of a source file under ROOT (a package's `__init__.py` is the package)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def display(module: str) -> str:
    """A module's file, relative to the repository, for messages."""
    return str(project_modules()[module].relative_to(ROOT))


@functools.cache
def project_modules() -> dict[str, Path]:
    """Every module of the apps, migrations excluded, by dotted name."""
    paths = (path for app in LAYERS for path in sorted((ROOT / app).rglob("*.py")))
    return {module_name(path): path for path in paths if "migrations" not in path.relative_to(ROOT).parts}


@functools.cache
def syntax_tree(module: str) -> ast.Module:
    """The parsed source of a project module."""
    path = project_modules()[module]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def import_statements(tree: ast.AST, deferred: bool = False):
    """Every import statement under a node, anywhere in it, and whether it runs inside a function."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, deferred
        yield from import_statements(child, deferred or isinstance(child, FUNCTION_NODES))


def from_base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` reads from, relative levels resolved."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    anchor = package[: len(package) - node.level + 1]
    return ".".join(anchor + ([node.module] if node.module else []))


def edges_of(module: str, tree: ast.AST, known, is_package: bool):
    """The imports of project modules by `module`: submodules by name, otherwise the module read from."""
    for node, deferred in import_statements(tree):
        if isinstance(node, ast.Import):
            yield from (Import(module, a.name, node.lineno, deferred) for a in node.names if a.name in known)
            continue
        base = from_base(module, is_package, node)
        names = [alias.name for alias in node.names]
        yield from (Import(module, f"{base}.{n}", node.lineno, deferred) for n in names if f"{base}.{n}" in known)
        rest = tuple(n for n in names if f"{base}.{n}" not in known)
        if rest and base in known:
            yield Import(module, base, node.lineno, deferred, rest)


@functools.cache
def import_graph() -> tuple[Import, ...]:
    """Every import between project modules."""
    known = project_modules()
    return tuple(
        edge
        for module, path in known.items()
        for edge in edges_of(module, syntax_tree(module), known, path.name == "__init__.py")
    )


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the strongly connected components of a directed graph, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def import_cycles(edges) -> list[list[Import]]:
    """The import cycles among `edges`: for each strongly connected component, the imports inside it."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
    cycles = []
    for component in strongly_connected(graph):
        inside = [e for e in edges if e.source in component and e.target in component]
        if len(component) > 1 or inside:
            cycles.append(sorted(set(inside), key=lambda e: (e.source, e.line, e.target)))
    return cycles


def app_of(module: str) -> str:
    """The app a module belongs to."""
    return module.partition(".")[0]


def is_private(name: str) -> bool:
    """A leading underscore, dunders excepted."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def describe(edge: Import) -> str:
    """One import, for a failure message."""
    where = " (in a function)" if edge.deferred else ""
    names = f" ({', '.join(edge.names)})" if edge.names else ""
    return f"{display(edge.source)}:{edge.line} imports {display(edge.target)}{names}{where}"


def module_attribute_bindings(module: str):
    """Local names bound to another project module (`from pkg import mod`, `import pkg.mod as m`)."""
    known = project_modules()
    for node, _ in import_statements(syntax_tree(module)):
        for alias in node.names:
            if isinstance(node, ast.Import):
                target = alias.name if alias.asname or "." not in alias.name else None
            else:
                target = f"{from_base(module, known[module].name == '__init__.py', node)}.{alias.name}"
            if target in known and target != module:
                yield alias.asname or alias.name, target


def private_attribute_uses(module: str):
    """`mod._name` where `mod` names another project module: a private name reached across modules."""
    bound = dict(module_attribute_bindings(module))
    for node in ast.walk(syntax_tree(module)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and is_private(node.attr):
            if node.value.id in bound:
                yield f"{display(module)}:{node.lineno} uses {node.value.id}.{node.attr} of {display(bound[node.value.id])}"


def module_level_nodes(tree: ast.AST):
    """The statements that run at import time: the module body, into if/try/with blocks, not into defs."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.stmt):
            yield child
        if not isinstance(child, FUNCTION_NODES + (ast.ClassDef,)):
            yield from module_level_nodes(child)


def defines_module_getattr(node: ast.stmt) -> bool:
    """`def __getattr__` or `__getattr__ = ...` at module level."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name == "__getattr__"
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return any(isinstance(t, ast.Name) and t.id == "__getattr__" for t in targets)


def modules_of(app: str) -> list[str]:
    """The modules of one app."""
    return [module for module in project_modules() if app_of(module) == app]


def check(rule: str, violations: list[str]) -> None:
    """Fail with the rule broken, then one violation a line (no traceback: the list is the message)."""
    if violations:
        pytest.fail(f"{rule}:\n  " + "\n  ".join(violations), pytrace=False)


@pytest.mark.parametrize("app", LAYERS)
def test_no_import_cycle_inside_an_app(app):
    """Modules of one app do not import each other in a cycle, deferred (in-function) imports included."""
    edges = [e for e in import_graph() if app_of(e.source) == app == app_of(e.target)]
    cycles = import_cycles(edges)
    report = [
        f"cycle {i} through {', '.join(sorted({display(e.source) for e in cycle}))}:\n    "
        + "\n    ".join(describe(e) for e in cycle)
        for i, cycle in enumerate(cycles, 1)
    ]
    check(f"import cycles inside {app}/", report)


def test_no_import_cycle_between_apps():
    """No cycle runs through several apps either (the layering exemption included)."""
    cycles = [c for c in import_cycles(import_graph()) if len({app_of(e.source) for e in c}) > 1]
    report = ["\n    ".join(describe(e) for e in cycle) for cycle in cycles]
    check("import cycles between apps", report)


@pytest.mark.parametrize("app", LAYERS)
def test_app_imports_only_the_layers_below(app):
    """An app imports only the apps below it in LAYERS (audit none but chu_portal; records not dmp or fhir...)."""
    allowed = set(LAYERS[: LAYERS.index(app) + 1])
    upward = [
        describe(e)
        for e in import_graph()
        if app_of(e.source) == app and app_of(e.target) not in allowed and e.source not in LAYERING_EXEMPT
    ]
    check(f"{app} may import only {', '.join(sorted(allowed))}", upward)


@pytest.mark.parametrize("app", LAYERS)
def test_no_private_name_across_modules(app):
    """No module takes another module's private (`_name`) names, by `from x import _name` or `x._name`."""
    imported = [
        f"{display(e.source)}:{e.line} imports {', '.join(filter(is_private, e.names))} from {display(e.target)}"
        for e in import_graph()
        if app_of(e.source) == app and e.source != e.target and any(map(is_private, e.names))
    ]
    used = [use for module in modules_of(app) for use in private_attribute_uses(module)]
    check(f"private names reached across modules in {app}/", imported + used)


@pytest.mark.parametrize("app", LAYERS)
def test_no_module_level_getattr(app):
    """No module defines a module-level `__getattr__` (a hidden re-export that the import graph cannot see)."""
    found = [
        f"{display(module)}:{node.lineno} defines __getattr__"
        for module in modules_of(app)
        for node in module_level_nodes(syntax_tree(module))
        if defines_module_getattr(node)
    ]
    check("module-level __getattr__", found)


def test_the_detector_resolves_relative_and_deferred_imports():
    """The graph builder itself, on a made-up package: relative levels, submodules, package names, functions."""
    known = {"pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"}
    source = (
        "import pkg.a\nfrom . import c\nfrom .. import b, helper\n"
        "def f():\n    from ..a import _private\n    from pkg.sub import c as d\n"
    )
    edges = set(edges_of("pkg.sub", ast.parse(source), known, is_package=True))
    assert edges == {
        Import("pkg.sub", "pkg.a", 1, False),
        Import("pkg.sub", "pkg.sub.c", 2, False),
        Import("pkg.sub", "pkg.b", 3, False),
        Import("pkg.sub", "pkg", 3, False, ("helper",)),
        Import("pkg.sub", "pkg.a", 5, True, ("_private",)),
        Import("pkg.sub", "pkg.sub.c", 6, True),
    }
    from_c = set(edges_of("pkg.sub.c", ast.parse("from . import c\nfrom .. import a\n"), known, is_package=False))
    assert {e.target for e in from_c} == {"pkg.sub.c", "pkg.a"}
    cycles = import_cycles([Import("x", "y", 1, False), Import("y", "x", 1, True), Import("z", "z", 1, False)])
    assert [[e.source for e in cycle] for cycle in cycles] == [["x", "y"], ["z"]]
