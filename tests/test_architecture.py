"""The house: every import inside the package points down, and nothing outside tests/ imports tests.

The graph is read from the source (every ``import``, also those inside functions), so a lazy import cannot hide a
cycle.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pretix_shredder_api"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(*folders: str):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def imported_names(path: Path) -> set[str]:
    """Absolute names of every module the file imports (``from x import y`` gives x.y as well as x)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def package_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports. A module's own parent packages do not count: Python runs them
    before the module anyway, and ``from . import sibling`` names the parent only to reach the sibling."""
    files = {module_name(p): p for p in source_files(PACKAGE)}
    return {
        name: {n for n in imported_names(path) if n in files and n != name and not name.startswith(n + ".")}
        for name, path in files.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done, path = set(), []

    def visit(node):
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_the_graph_is_read_from_the_source():
    graph = package_graph()
    # lazy imports inside functions count too
    assert f"{PACKAGE}.views.navigation" in graph[f"{PACKAGE}.signals"]
    assert {f"{PACKAGE}.jobs", f"{PACKAGE}.tasks"} <= graph[f"{PACKAGE}.flows"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    assert find_cycle(package_graph()) is None


@pytest.mark.parametrize("low", ["jobs", "tasks"])
def test_the_job_rules_and_the_tasks_do_not_start_work(low):
    """Starting and queueing work sits above jobs and tasks (flows.py); neither imports it, jobs not even tasks."""
    graph = package_graph()
    forbidden = {f"{PACKAGE}.flows"} | ({f"{PACKAGE}.tasks"} if low == "jobs" else set())
    assert not graph[f"{PACKAGE}.{low}"] & forbidden


def test_the_domain_does_not_import_the_front_ends():
    graph = package_graph()
    front = (f"{PACKAGE}.api", f"{PACKAGE}.views", f"{PACKAGE}.urls")
    for name, targets in graph.items():
        if name.startswith(front) or name in (f"{PACKAGE}.signals", f"{PACKAGE}.apps"):
            continue
        assert not {t for t in targets if t.startswith(front)}, name


@pytest.mark.parametrize("folder", [PACKAGE, "benchmarks", "devtools", "demo"])
def test_nothing_outside_tests_imports_tests(folder):
    offenders = {
        str(path.relative_to(ROOT)): sorted(n for n in imported_names(path) if n == "tests" or n.startswith("tests."))
        for path in source_files(folder)
    }
    assert {p: n for p, n in offenders.items() if n} == {}
