"""The package's shape, held: small modules with a docstring, one module per command with its
parser beside it, and the seams (storage, sources) free of how the configuration is read."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "inspector"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_says_what_it_is_for_and_stays_small():
    for path in MODULES:
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{path.relative_to(PACKAGE)} has no docstring"
        lines = len(path.read_text().splitlines())
        assert lines <= 420, f"{path.relative_to(PACKAGE)} has {lines} lines"


def _runtime_imports(path: Path) -> set[str]:
    """Modules ``path`` imports when it runs (not those under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text())
    guarded = [n for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)]
    skipped = {id(n) for node in guarded for n in ast.walk(node)}
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.ImportFrom):
            continue
        base = package[: len(package) - node.level + 1] if node.level else ()
        name = ".".join([*base, *([node.module] if node.module else [])])
        found |= {name} | {f"{name}.{a.name}" for a in node.names}
    return found


def test_the_seams_know_nothing_of_how_the_configuration_is_read():
    for seam in ("storage", "sources"):
        for path in sorted((PACKAGE / seam).glob("*.py")):
            bad = {m for m in _runtime_imports(path) if m.startswith("inspector.config")}
            assert not bad, f"{path.relative_to(PACKAGE)} imports {bad} at run time"


def test_each_command_is_one_module_with_its_parser_and_its_run():
    from inspector import cli

    for name, module in cli.COMMANDS.items():
        assert module.__name__ == f"inspector.commands.{name.replace('-', '_')}"
        assert callable(module.add_parser) and callable(module.run)
