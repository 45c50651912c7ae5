"""The layout holds: pure modules stand without Django, layers import downwards only, no
import circles, no private names across modules, no module or function too long to read.

The pure modules get two checks, because each misses what the other sees: a fresh interpreter
that refuses to import Django or the app's models imports every pure module, which catches an
import made on the way through another module; and a reading of each pure module's source finds
any import of them, also one hidden inside a function, which runs only when the function does.
The rest reads the source of transcripts/, peercoding/ and bench/ (migrations aside) with ast.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "transcripts"

# Modules, and packages taken whole with everything below them.
PURE = ["spans", "colours", "assigning", "agreement", "interop", "suggestions"]
# What the pure packages hold that reads the database for them.
DATABASE_FACING = {"transcripts.agreement.loading", "transcripts.suggestions.loading", "transcripts.suggestions.tasks",
                   "transcripts.suggestions.training"}
FORBIDDEN = ("django", "transcripts.models")

REFUSING_INTERPRETER = """
import importlib, json, sys
from importlib.abc import MetaPathFinder

FORBIDDEN = {forbidden!r}


class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
            raise ImportError("refused: " + name)
        return None


sys.meta_path.insert(0, Refuse())
failures = {{}}
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as error:
        failures[name] = repr(error)
print(json.dumps(failures))
"""


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def pure_files() -> dict[str, Path]:
    """module name -> source file, for every pure module."""
    files: dict[str, Path] = {}
    for name in PURE:
        single = PACKAGE / f"{name}.py"
        for path in [single] if single.exists() else sorted((PACKAGE / name).rglob("*.py")):
            files[module_name(path)] = path
    return {name: path for name, path in files.items() if name not in DATABASE_FACING}


def imported_names(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, at any depth."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(part for part in (base, node.module or "") if part)
            found.append((node.lineno, target))
            # "from .. import models" names the module in the alias.
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


def is_forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def import_refusing_django(modules: list[str]) -> dict[str, str]:
    script = REFUSING_INTERPRETER.format(forbidden=FORBIDDEN)
    result = subprocess.run(
        [sys.executable, "-c", script, *modules], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_list_of_pure_modules_is_what_the_layout_promises():
    names = set(pure_files())
    for expected in (
        "transcripts.spans",
        "transcripts.colours",
        "transcripts.agreement.statistics",
        "transcripts.agreement.units",
        "transcripts.interop.codebook",
        "transcripts.interop.docx_writer",
        "transcripts.interop.refi",
        "transcripts.interop.readers",
        "transcripts.interop.readers.safety",
        "transcripts.interop.readers.sheets",
    ):
        assert expected in names
    assert not names & DATABASE_FACING


def test_pure_modules_import_without_django_or_the_models():
    modules = sorted(pure_files())
    # The control shows the refusing interpreter refuses: the transcript page's data needs models.
    failures = import_refusing_django([*modules, "transcripts.coding_page"])
    assert "refused: django" in failures.pop("transcripts.coding_page")
    assert failures == {}


def test_pure_modules_name_neither_django_nor_the_models_anywhere_in_their_source():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for module, path in pure_files().items()
        for line, name in imported_names(path, module)
        if is_forbidden(name)
    ]
    assert offending == []


def test_the_source_check_sees_imports_inside_functions_and_relative_ones(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        "def later():\n    from django.db import models\n\nfrom ..models import Code\nfrom .. import models\n"
    )
    names = {name for _, name in imported_names(source, "transcripts.interop.sample")}
    assert {name for name in names if is_forbidden(name)} == {
        "django.db",
        "django.db.models",
        "transcripts.models",
        "transcripts.models.Code",
    }
    assert "transcripts" in names  # the package itself is no offence


# The shape of the code: sizes, imports, layers ------------------------------------------------

CHECKED = [ROOT / "transcripts", ROOT / "peercoding", ROOT / "bench"]
MOST_LINES_IN_A_MODULE = 600
MOST_LINES_IN_A_FUNCTION = 60

# Each top-level area of transcripts/ in its layer, top first; a module may import from its own
# layer and those below. The longest matching name counts ("agreement.loading" before "agreement").
LAYERS = [
    ("entry points", ["views", "templatetags", "management", "urls", "admin", "apps", "middleware", "http",
                      "forms", "codebook_forms", "project_forms", "export_forms"]),
    ("reads and writes", ["actions", "review", "coding_page", "codebook", "agreement.loading", "access", "audit",
                          "backup", "integrity", "db_triggers", "planner", "project_export", "jobs", "suggestions.loading",
                          "suggestions.tasks", "suggestions.training"]),
    ("models", ["models"]),
    ("pure", ["spans", "colours", "assigning", "agreement", "interop", "suggestions"]),
]

# Imports that stay inside a function, each for a reason the module's comment repeats.
IMPORTS_INSIDE_FUNCTIONS = {
    # apps.py is imported while the app registry fills; the middleware needs the models.
    ("transcripts.apps", "transcripts.db_triggers"),
    ("transcripts.apps", "transcripts.middleware"),
    ("transcripts.apps", "transcripts.actions.counts"),
    ("transcripts.apps", "transcripts.planner"),
    # numpy and scikit-learn load only where a suggestion model is fitted, read or asked.
    ("transcripts.suggestions.learning", "transcripts.suggestions.model"),
    # coding.py and transcripts.py import projects.py for Project.
    ("transcripts.models.projects", "transcripts.models.coding"),
    ("transcripts.models.projects", "transcripts.models.transcripts"),
}


def python_files() -> list[Path]:
    return [
        path
        for folder in CHECKED
        for path in sorted(folder.rglob("*.py"))
        if "migrations" not in path.relative_to(ROOT).parts
    ]


def our_modules() -> dict[str, Path]:
    return {module_name(path): path for path in python_files()}


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that an imported name lives in (a module, or a name in one)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(path: Path, module: str, modules: dict[str, Path], *, in_functions: bool) -> set[str]:
    """Our modules that `module` imports at its top level (or, with in_functions, inside functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            here = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and here == in_functions:
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                else:
                    base = package.rsplit(".", child.level - 1)[0] if child.level else ""
                    source = ".".join(part for part in (base, child.module or "") if part)
                    # "from . import archive" imports the module archive, not the package.
                    targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in child.names]
                found.update(t for t in map(lambda n: resolve(n, modules), targets) if t and t != module)
            visit(child, here)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    # An empty package's __init__ (transcripts/, bench/) is no dependency.
    return {name for name in found if modules[name].stat().st_size or not modules[name].name == "__init__.py"}


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imports_of(path, name, modules, in_functions=False) for name, path in modules.items()}


def layer_of(module: str) -> int | None:
    """Index in LAYERS (0 is the top) of a module of transcripts/, or None for the package itself."""
    if module == "transcripts":
        return None
    inside = module.removeprefix("transcripts.")
    best: tuple[int, int] | None = None
    for index, (_, areas) in enumerate(LAYERS):
        for area in areas:
            if inside == area or inside.startswith(area + "."):
                if best is None or len(area) > best[1]:
                    best = (index, len(area))
    assert best is not None, f"{module} is in no layer: add it to LAYERS in tests/test_layout.py"
    return best[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, as the modules along it (depth-first search, one report per back edge)."""
    found, state = [], {}

    def walk(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                found.append(path[path.index(target):] + [target])
            elif target not in state:
                walk(target, [*path, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    return found


def test_no_module_and_no_function_is_too_long():
    long_modules, long_functions = [], []
    for path in python_files():
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > MOST_LINES_IN_A_MODULE:
            long_modules.append(f"{path.relative_to(ROOT)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MOST_LINES_IN_A_FUNCTION:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert long_modules == []
    assert long_functions == []


def test_there_is_no_import_circle():
    assert cycles(import_graph()) == []


def test_the_circle_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_nothing_imports_from_a_layer_above_it():
    offending = []
    for module, targets in import_graph().items():
        if not module.startswith("transcripts"):
            continue
        for target in targets:
            if layer_of(module) is not None and layer_of(target) is not None and layer_of(target) < layer_of(module):
                offending.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})")
    assert offending == []


def test_imports_stay_at_the_top_except_those_that_break_a_circle():
    modules = our_modules()
    inside = []
    for path in python_files():
        module = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for child in ast.walk(node):
                    if isinstance(child, (ast.Import, ast.ImportFrom)):
                        targets = {resolve(name, modules) for name in imported_names_of(child, path, modules)}
                        if not all((module, target) in IMPORTS_INSIDE_FUNCTIONS for target in targets):
                            inside.append(f"{path.relative_to(ROOT)}:{child.lineno} {ast.unparse(child)}")
    assert inside == []


def imported_names_of(node: ast.Import | ast.ImportFrom, path: Path, modules: dict[str, Path]) -> list[str]:
    module = module_name(path)
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level else ""
    source = ".".join(part for part in (base, node.module or "") if part)
    return [f"{source}.{alias.name}" for alias in node.names]


def test_no_private_name_crosses_a_module():
    modules = our_modules()
    offending = []
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound_modules = set()  # local names that are modules of ours: "review" in "from .. import review"
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias, full in zip(node.names, imported_names_of(node, path, modules)):
                    local = alias.asname or alias.name.split(".")[0]
                    if full in modules:
                        bound_modules.add(local)
                    if isinstance(node, ast.ImportFrom) and alias.name.startswith("_") and resolve(full, modules):
                        offending.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound_modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert offending == []
