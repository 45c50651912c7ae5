"""The pure modules (text work, colours, assignment, agreement, format conversion) stand without Django.

Two checks, because each misses what the other sees: a fresh interpreter that refuses to
import Django or the app's models imports every pure module, which catches an import made on
the way through another module; and a reading of each pure module's source finds any import
of them, also one hidden inside a function, which runs only when the function does.
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
PURE = ["spans", "colours", "assigning", "agreement", "interop"]
# What the pure packages hold that reads the database for them.
DATABASE_FACING = {"transcripts.agreement.loading"}
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
