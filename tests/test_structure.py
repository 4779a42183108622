"""The layout rules of issue 10, checked on the source: no import circle, short files and views, imports at the top.

Each rule is a function over a source tree, so that it is tried here on a small bad sample too:
a check that cannot fail proves nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("webforms", "schemas")
MAX_FILE_LINES = 600
MAX_VIEW_LINES = 30
SIZED_FOLDERS = ("webforms", "schemas", "templates_docx", "templates_html", "bench", "scripts")
# The SEDA 2.2 schemas are the standard's own files, vendored unchanged (webforms/archive/seda-2.2/
# README.md): not our code, so their length is not ours to shorten.
VENDORED = ("webforms/archive/seda-2.2",)
# Libraries slow enough to import that a module may defer them to the function that needs them.
HEAVY = frozenset({"weasyprint", "pyhanko", "pyhanko_certvalidator", "pikepdf", "lxml", "docx", "docxtpl"})
# The sandboxed parser imports each format's parser only once its resource limits apply: deferring
# there is the point of the file (a parser bomb must meet the limits), not a layering shortcut.
DEFERRED_BY_DESIGN = ("webforms/documents/uploads/child.py",)
ROUTES = frozenset({"get", "post", "put", "patch", "delete", "route"})


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it stands, and whether it runs when its module loads."""

    target: str
    line: int
    deferred: bool  # inside a function: it runs when the function is called
    type_only: bool  # under ``if TYPE_CHECKING:``: it never runs


# --- reading a source tree ------------------------------------------------------------------


def modules_of(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Return every module of ``packages`` under ``root`` by dotted name (a package by its own name)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts or "__pycache__" in parts:
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST, *, deferred: bool = False, type_only: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, deferred, type_only
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _import_nodes(node, deferred=True, type_only=type_only)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]), deferred=deferred, type_only=True)
            for child in node.orelse:
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]), deferred=deferred, type_only=type_only)
        else:
            yield from _import_nodes(node, deferred=deferred, type_only=type_only)


def imports_of(name: str, path: Path, known: set[str]) -> list[Import]:
    """Return the modules ``path`` (module ``name``) imports, relative imports resolved.

    ``from package import name`` points at ``package.name`` when that is a module of ``known``.
    """
    is_package = path.name == "__init__.py"
    found = []
    for node, deferred, type_only in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        found += [Import(target, node.lineno, deferred, type_only) for target in dict.fromkeys(targets)]
    return found


def import_graph(root: Path, packages: tuple[str, ...]) -> dict[str, set[str]]:
    """Return, for each first-party module, the first-party modules it imports (deferred ones included)."""
    modules = modules_of(root, packages)
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {imp.target for imp in imports_of(name, path, known) if imp.target in known and not imp.type_only}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one circle of each group of modules that import one another, as a path ``a, b, …, a``."""
    # Tarjan's strongly connected components, then a shortest way back to the start in each.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_way_back(graph, group) for group in groups]


def _way_back(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    raise AssertionError(f"no way back to {start} in {group}")  # a component always has one


def long_files(root: Path, folders: tuple[str, ...], limit: int, exempt: tuple[str, ...] = ()) -> list[str]:
    """Return the text files of ``folders`` longer than ``limit`` lines, tests and migrations aside."""
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root)
            if not path.is_file() or {"tests", "migrations", "__pycache__"} & set(relative.parts):
                continue
            if any(relative.is_relative_to(e) for e in exempt):
                continue
            try:
                lines = len(path.read_text(encoding="utf-8").splitlines())
            except UnicodeDecodeError:
                continue  # a Word template or an image: its length is not in lines
            if lines > limit:
                found.append(f"{relative}: {lines} lines")
    return found


def long_views(root: Path, packages: tuple[str, ...], limit: int) -> list[str]:
    """Return the views (functions under a blueprint's route decorator) longer than ``limit`` lines, decorators included."""
    found = []
    for path in modules_of(root, packages).values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        blueprints = {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", None) == "Blueprint"
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            routes = [
                d
                for d in node.decorator_list
                if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ROUTES and getattr(d.func.value, "id", None) in blueprints
            ]
            if routes:
                lines = (node.end_lineno or node.lineno) - min(d.lineno for d in node.decorator_list) + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}: {lines} lines")
    return found


def _top_level_closure(root: Path, packages: tuple[str, ...], module: str) -> set[str]:
    """Return every module that importing ``module`` loads, by its imports at module level (parents included)."""
    modules = modules_of(root, packages)
    known = set(modules)
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for parent in (".".join(parts[:i]) for i in range(1, len(parts) + 1)):
            if parent in seen:
                continue
            seen.add(parent)
            if parent in modules:
                todo += [imp.target for imp in imports_of(parent, modules[parent], known) if not imp.deferred and not imp.type_only]
    return seen


def _has_comment(lines: list[str], node: ast.stmt) -> bool:
    """Return whether the import has a comment on its lines or just above its group of imports."""
    own = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
    above = node.lineno - 2
    while above >= 0 and lines[above].strip().startswith(("import ", "from ")):
        above -= 1  # one comment may explain two imports of the same library in a row
    return any("#" in line for line in own) or (above >= 0 and lines[above].strip().startswith("#"))


def deferred_imports(root: Path, packages: tuple[str, ...], heavy: frozenset[str], exempt: tuple[str, ...] = ()) -> list[str]:
    """Return the imports inside functions that are not a heavy library's (or a module that loads one) with a comment."""
    modules = modules_of(root, packages)
    known = set(modules)
    found = []
    for name, path in modules.items():
        relative = path.relative_to(root)
        if relative.as_posix() in exempt:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        statements = {(n.lineno, n.col_offset): n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)}
        for imp in imports_of(name, path, known):
            if not imp.deferred:
                continue
            node = next(n for (line, _), n in statements.items() if line == imp.line)
            loads = _top_level_closure(root, packages, imp.target) if imp.target in known else {imp.target}
            reached = {m.split(".")[0] for m in loads} & heavy
            if not reached:
                found.append(f"{relative}:{imp.line} imports {imp.target} inside a function: move it to the top")
            elif not _has_comment(lines, node):
                found.append(f"{relative}:{imp.line} defers {imp.target} ({', '.join(sorted(reached))}) without a comment saying why")
    return found


# --- the rules on our code ------------------------------------------------------------------


def test_no_import_circle() -> None:
    """No module of ``webforms`` or ``schemas`` imports, even indirectly or inside a function, one that imports it."""
    assert import_cycles(import_graph(ROOT, PACKAGES)) == []


# What `make bench` writes (raw figures, ignored by git): not code, and there after any bench run.
GENERATED = ("bench/out",)


def test_no_file_over_600_lines() -> None:
    """No file of ours, tests and migrations aside, is longer than 600 lines."""
    assert long_files(ROOT, SIZED_FOLDERS, MAX_FILE_LINES, exempt=(*VENDORED, *GENERATED)) == []


def test_no_view_over_30_lines() -> None:
    """Each view, decorators and docstring included, fits in 30 lines: parse, call, render or redirect."""
    assert long_views(ROOT, PACKAGES, MAX_VIEW_LINES) == []


def test_imports_at_the_top() -> None:
    """An import inside a function only defers a heavy library, and says so in a comment."""
    assert deferred_imports(ROOT, (*PACKAGES, "templates_docx"), HEAVY, exempt=DEFERRED_BY_DESIGN) == []


def test_the_rules_see_the_real_tree() -> None:
    """The rules above read the modules, views and deferred imports that are there (an empty walk passes anything)."""
    graph = import_graph(ROOT, PACKAGES)
    assert "webforms.documents.services" in graph["webforms.candidatures.services"]
    assert long_views(ROOT, PACKAGES, 0)  # every view is over 0 lines: the views are found
    assert deferred_imports(ROOT, PACKAGES, frozenset())  # with nothing heavy, the deferrals are found


# --- each rule fails on a bad sample --------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_circle_is_found_with_its_path(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",
            "pkg/b.py": "def f():\n    from .c import x\n",  # deferred and relative: still a circle
            "pkg/c.py": "from . import a\nx = 1\n",
            "pkg/d.py": "import pkg.a\n",  # imports into the circle, not part of it
            "pkg/sub/__init__.py": "from ..d import *\n",
        },
    )
    graph = import_graph(root, ("pkg",))
    assert graph["pkg.sub"] == {"pkg.d"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_a_type_only_import_or_a_chain_is_no_circle(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
            "pkg/b.py": "from pkg import a\n",
        },
    )
    assert import_cycles(import_graph(root, ("pkg",))) == []


def test_a_long_file_is_found_unless_vendored_or_a_test(tmp_path: Path) -> None:
    long = "x = 1\n" * 601
    root = _write(
        tmp_path,
        {
            "pkg/long.py": long,
            "pkg/fine.html": "<p>\n" * 600,
            "pkg/tests/test_long.py": long,
            "pkg/migrations/0001.py": long,
            "pkg/vendor/std.xsd": long,
        },
    )
    (root / "pkg/template.docx").write_bytes(b"PK\x03\x04\xff\xfe" * 1000)
    assert long_files(root, ("pkg",), 600, exempt=("pkg/vendor",)) == ["pkg/long.py: 601 lines"]


def test_a_long_view_is_found_decorators_included(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(27))
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/views.py": (
                "from flask import Blueprint\n"
                "bp = Blueprint('b', __name__)\n"
                "@bp.route('/a', methods=['GET', 'POST'])\n@login_required\n"
                f"def too_long():\n{body}    return ''\n"  # 2 decorators + def + 27 + return = 31
                f"@bp.get('/b')\ndef fits():\n{body}    return ''\n"  # 30
                f"def helper():\n{body}{body}    return ''\n"  # not a view
            ),
        },
    )
    assert long_views(root, ("pkg",), 30) == ["pkg/views.py:5 too_long: 31 lines"]


def test_an_import_inside_a_function_needs_a_heavy_library_and_a_comment(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/render.py": "import weasyprint\n",
            "pkg/light.py": "import json\n",
            "pkg/uses.py": (
                "def a():\n    import json\n"  # light: belongs at the top
                "def b():\n    import weasyprint\n"  # heavy, but no comment
                "def c():\n    # Deferred: WeasyPrint is slow to import.\n    import weasyprint\n"
                "def d():\n    from pkg.render import x  # loads WeasyPrint\n"
                "def e():\n    # deferred\n    from pkg import light\n"  # a comment does not excuse a light import
                "class K:\n    def m(self):\n        from .light import y\n"
                "def f():\n    # Deferred: slow.\n    import weasyprint\n    from weasyprint import HTML\n"
                "def g():\n    x = 1\n    import weasyprint\n"  # code above is no comment
            ),
        },
    )
    assert deferred_imports(root, ("pkg",), frozenset({"weasyprint"})) == [
        "pkg/uses.py:2 imports json inside a function: move it to the top",
        "pkg/uses.py:4 defers weasyprint (weasyprint) without a comment saying why",
        "pkg/uses.py:12 imports pkg.light inside a function: move it to the top",
        "pkg/uses.py:15 imports pkg.light inside a function: move it to the top",
        "pkg/uses.py:22 defers weasyprint (weasyprint) without a comment saying why",
    ]


@pytest.mark.parametrize("heavy_at", ["pkg/render.py", "pkg/__init__.py"])
def test_a_module_defers_a_heavy_library_through_what_it_loads(tmp_path: Path, heavy_at: str) -> None:
    files = {"pkg/__init__.py": "", "pkg/render.py": "", "pkg/front.py": "from pkg import render\n"}
    files[heavy_at] = "import weasyprint\n"
    root = _write(tmp_path, {**files, "pkg/cli.py": "def run():\n    # Deferred: loads WeasyPrint.\n    from pkg.front import go\n"})
    assert deferred_imports(root, ("pkg",), frozenset({"weasyprint"})) == []


def test_every_form_s_fields_come_through_form_fields() -> None:
    """One way to render a form's fields, kept per state (webforms.form_markup): no page calls the macro itself."""
    templates = Path(__file__).resolve().parents[1] / "webforms" / "templates"
    calling = [p.name for p in templates.glob("*.html") if p.name != "_macros.html" and "render_field(" in p.read_text()]
    assert calling == []
