"""Old import paths (before the package layout) still work for one version, with a DeprecationWarning."""
import importlib
import sys

import pytest

from hybridcodec import _moved


@pytest.mark.parametrize("old", ["hybridcodec.codec", "hybridcodec.container", "hybridcodec.evaluation",
                                 "hybridcodec.corpus", "dsp.mdct", "learned"])
def test_old_path_is_an_alias_with_a_warning(old, monkeypatch):
    new = _moved.new_name(old)
    module = importlib.import_module(new)
    for name in {old, old.partition(".")[0]} - {"hybridcodec"}:
        monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.warns(DeprecationWarning, match=new):
        aliased = importlib.import_module(old)
    assert aliased is module
    assert module.__spec__.name == new

