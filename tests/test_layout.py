"""The package layout and its import rule, read from the source with ast (nothing is imported).

    hybridcodec.dsp          imports nothing of the project
    core, formats,
    components               never import tools, research or training
    torch                    imported at module level only in training and learned

plus: no project module uses an import path that moved (hybridcodec/_moved.py), and setup.cfg
installs every package folder.
"""
import ast
import configparser
from pathlib import Path

import pytest

from hybridcodec import _moved

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"hybridcodec": "hybridcodec", "dsp": "hybridcodec.dsp", "learned": "hybridcodec.learned"}
LOWER = ("hybridcodec.core", "hybridcodec.formats", "hybridcodec.components")
UPPER = ("hybridcodec.tools", "hybridcodec.research", "hybridcodec.training")
TORCH_ALLOWED = ("hybridcodec.training", "hybridcodec.learned")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join((FOLDERS[parts[0]],) + parts[1:])
    return name.removesuffix(".__init__")


def _sources():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield _module_name(path), path


def _imports(module: str, path: Path):
    """(imported name, at module level) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top_level = {id(node) for node in ast.walk(tree)} - {
        id(inner) for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) for inner in ast.walk(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            yield name, id(node) in top_level


def _within(name: str, packages) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


SOURCES = list(_sources())


@pytest.mark.parametrize("module,path", SOURCES, ids=[module for module, _ in SOURCES])
def test_import_rule(module, path):
    for name, at_module_level in _imports(module, path):
        if _within(module, ["hybridcodec.dsp"]):
            assert not _within(name, ["hybridcodec", "dsp", "learned"]) or _within(name, ["hybridcodec.dsp"]), \
                f"{module} imports {name}: dsp imports nothing of the project"
        if _within(module, LOWER):
            assert not _within(name, UPPER), f"{module} imports {name}: core, formats and components " \
                                             "never import tools, research or training"
        if at_module_level and not _within(module, TORCH_ALLOWED):
            assert not _within(name, ["torch", "hybridcodec.learned"]), \
                f"{module} imports {name} at import time: only training and learned may"
        assert _moved.new_name(name) is None, f"{module} imports {name}, an old path of {_moved.new_name(name)}"


def test_setup_cfg_installs_every_package_folder():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    listed = set(setup["options"]["packages"].split())
    folders = {module for module, path in SOURCES if path.name == "__init__.py"}
    assert listed == folders
