"""Numba's kernel cache is cleared when any source file of the package changes."""
import subprocess
import sys
import textwrap

import pytest

from hybridcodec import kernel_cache

CALLER = textwrap.dedent("""
    from numba import njit
    from .callee import value

    @njit(cache=True)
    def caller():
        return value() + 1
""")
CALLEE = "from numba import njit\n\n@njit(cache=True)\ndef value():\n    return {}\n"
RUN = textwrap.dedent("""
    import sys
    from pathlib import Path
    from hybridcodec.kernel_cache import refresh
    refresh([Path(sys.argv[1]) / "pkg"])
    sys.path.insert(0, sys.argv[1])
    from pkg.caller import caller
    print(caller())
""")


def _package(root, callee_value):
    package = root / "pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "caller.py").write_text(CALLER)
    (package / "callee.py").write_text(CALLEE.format(callee_value))
    return package


def _caller_result(root):
    result = subprocess.run([sys.executable, "-c", RUN, str(root)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_a_kernel_sees_the_edit_of_a_kernel_it_calls_from_another_file(tmp_path):
    package = _package(tmp_path, 1)
    assert _caller_result(tmp_path) == 2
    assert list(package.glob("__pycache__/caller*.nbi")), "the caller was cached"
    caller_stat = (package / "caller.py").stat()
    (package / "callee.py").write_text(CALLEE.format(10))
    assert (package / "caller.py").stat().st_mtime == caller_stat.st_mtime
    assert _caller_result(tmp_path) == 11


def test_refresh_keeps_the_cache_of_unchanged_sources(tmp_path):
    first, second = _package(tmp_path, 1), tmp_path / "other"
    second.mkdir()
    (second / "module.py").write_text("x = 1\n")
    cached = [first / "__pycache__" / "caller.caller-5.py311.nbi", second / "__pycache__" / "m.nbc"]

    def write_cache():
        for path in cached:
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"kernel")

    write_cache()
    assert kernel_cache.refresh([first, second]), "no digest recorded yet"
    assert not any(path.exists() for path in cached)
    write_cache()
    assert not kernel_cache.refresh([first, second])
    assert all(path.exists() for path in cached)
    (second / "module.py").write_text("x = 2\n")
    assert kernel_cache.refresh([first, second])
    assert not any(path.exists() for path in cached)


def test_nothing_is_done_where_numba_caches_elsewhere(monkeypatch):
    calls = []
    monkeypatch.setattr(kernel_cache, "refresh", calls.append)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/elsewhere")
    kernel_cache.refresh_installed()
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    kernel_cache.refresh_installed()
    assert calls == [kernel_cache.package_roots()]


def test_a_plain_install_digests_the_subpackages_once(tmp_path, monkeypatch):
    from types import SimpleNamespace

    site = tmp_path / "site-packages" / "hybridcodec"
    origins = {"hybridcodec": site, "hybridcodec.dsp": site / "dsp",
               "hybridcodec.learned": site / "learned"}
    monkeypatch.setattr(kernel_cache.importlib.util, "find_spec",
                        lambda name: SimpleNamespace(origin=str(origins[name] / "__init__.py")))
    assert kernel_cache.package_roots() == [site]


def test_an_uninstalled_checkout_is_told_to_install(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(kernel_cache.importlib.util, "find_spec",
                        lambda name: None if name == "hybridcodec.dsp"
                        else SimpleNamespace(origin=f"/checkout/{name}/__init__.py"))
    with pytest.raises(ImportError, match="pip install -e"):
        kernel_cache.package_roots()
