"""Tests of slots, the component registry and named configurations (hybridcodec.core.registry,
hybridcodec.core.config, hybridcodec.core.pipeline).

Every test that registers something works on copies of the registry and configuration tables
(``isolated_registry``), so nothing leaks into other tests.
"""
import ast
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from hybridcodec import api, cli
from hybridcodec.core import config, pipeline, registry
from hybridcodec.formats.audio import demo_clip_path, read_audio
from hybridcodec.components.configurations import BASE
from hybridcodec.core.config import ComponentSpec, get_config, register_config
from hybridcodec.errors import ConfigError
from hybridcodec.formats.hcb import FILE_SLACK_BYTES
from hybridcodec.tools.metrics import segmental_snr_db


@pytest.fixture(scope="module")
def speech():
    x, rate_hz, _ = read_audio(demo_clip_path())
    assert rate_hz == 16000
    return x[16000:48000]


@pytest.fixture
def isolated_registry(monkeypatch):
    """Copies of the component and configuration tables, restored after the test."""
    config.configs()  # built-ins registered before copying
    for slot in registry.SLOTS:  # every built-in module imported, so none registers into a copy
        registry.components(slot)
    monkeypatch.setattr(registry, "_REGISTRY",
                        {slot: dict(table) for slot, table in registry._REGISTRY.items()})
    monkeypatch.setattr(config, "_CONFIGS", dict(config._CONFIGS))
    pipeline.get_pipeline.cache_clear()
    yield
    pipeline.get_pipeline.cache_clear()


class TiltedWeighting:
    """A perceptual component for the tests: W(f) rising by ``db_per_khz`` towards high bins."""

    def __init__(self, db_per_khz: float = 3.0):
        self.db_per_khz = db_per_khz

    def weights(self, envelope: np.ndarray) -> np.ndarray:
        khz = 0.025 * (np.arange(envelope.shape[0]) + 0.5)
        log_w = self.db_per_khz * khz / 20.0 * np.log(10.0)
        return np.exp(log_w - log_w.mean())


# --- registering components and configurations -------------------------------------------------

def test_registered_component_is_selectable_by_a_configuration(isolated_registry, speech):
    registry.register("perceptual", "test-tilted")(TiltedWeighting)
    assert registry.components("perceptual")["test-tilted"] is TiltedWeighting
    tilted = register_config(BASE.override(
        "test-tilted", "BASE with a tilted weighting",
        perceptual=ComponentSpec.of("test-tilted", db_per_khz=1.0)))
    assert get_config("test-tilted") is tilted
    assert tilted.slots()["perceptual"].kwargs() == {"db_per_khz": 1.0}
    # the other slots are BASE's
    assert {s: v for s, v in tilted.slots().items() if s != "perceptual"} == \
           {s: v for s, v in BASE.slots().items() if s != "perceptual"}

    built = pipeline.get_pipeline("test-tilted")
    assert isinstance(built.perceptual, TiltedWeighting) and built.perceptual.db_per_khz == 1.0

    data, reports = api.encode_with_reports(speech, 16000, 16400, "test-tilted")
    assert api.read_header(data).config_name == "test-tilted"
    assert data != api.encode(speech, 16000, 16400)
    y, _ = api.decode(data)
    assert y.shape == speech.shape and segmental_snr_db(speech, y) > 0.0
    assert [r.final_state for r in api.frame_reports(data)] == [r.final_state for r in reports]


def test_registered_component_gets_earlier_components_it_asks_for(isolated_registry):
    seen = {}

    @registry.register("postfilter", "test-recording")
    class RecordingPostfilter:
        def __init__(self, source_model, transform, gain: float = 1.0):
            seen.update(source_model=source_model, transform=transform, gain=gain)
            self.gain = gain

        def stream(self, bitrate_bps):
            return self

        def push(self, samples, envelope, coded_lag=0):
            return self.gain * samples

    register_config(BASE.override("test-recording", "recording postfilter",
                                  postfilter=ComponentSpec.of("test-recording", gain=0.5)))
    built = pipeline.get_pipeline("test-recording")
    assert seen["source_model"] is built.source_model
    assert seen["transform"] is built.transform and seen["gain"] == 0.5


def test_one_table_of_configurations_with_exactly_one_default():
    from hybridcodec.components import configurations as table

    names = [builtin.name for builtin in table.CONFIGURATIONS]
    assert len(names) == len(set(names))
    assert names.count(table.DEFAULT) == 1
    assert config.default_config_name() == table.DEFAULT
    assert set(names) <= set(config.configs())
    package = Path(config.__file__).resolve().parents[1]
    callers = {path.relative_to(package).as_posix() for path in package.rglob("*.py")
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register_config"}
    assert callers == {"core/config.py", "training/tune.py"}, \
        "only the table registers built-in configurations (the tuning registers its candidates)"


def test_default_configuration_can_be_moved(isolated_registry):
    original = get_config("default")
    flat = register_config(BASE.override("test-default", "new default",
                                         perceptual=ComponentSpec.of("flat")), default=True)
    try:
        assert get_config("default") is flat
        assert config.default_config_name() == "test-default"
    finally:
        register_config(original, default=True)
    assert get_config("default") is original


# --- the table of built-in components ----------------------------------------------------------

def test_builtin_table_agrees_with_the_register_decorators():
    from hybridcodec.components import BUILTIN

    for slot in registry.SLOTS:
        builtin = {name: factory for name, factory in registry.components(slot).items()
                   if factory.__module__.startswith("hybridcodec.components.")}
        assert sorted(builtin) == sorted(BUILTIN[slot])
        for name, factory in builtin.items():
            assert factory.__module__ == f"hybridcodec.components.{BUILTIN[slot][name]}"
        assert registry.component_names(slot) == tuple(sorted(registry.components(slot)))


# --- errors list the choices ---------------------------------------------------------------------

def test_unknown_slot_lists_the_slots():
    with pytest.raises(ConfigError, match="unknown slot 'colour'") as info:
        registry.components("colour")
    for slot in registry.SLOTS:
        assert slot in str(info.value)
    with pytest.raises(ConfigError, match="unknown slot 'colour'"):
        registry.register("colour", "red")


def test_unknown_component_lists_the_components():
    with pytest.raises(ConfigError, match="no perceptual component named 'nope'") as info:
        registry.lookup("perceptual", "nope")
    assert "evs-lpc" in str(info.value) and "flat" in str(info.value)


def test_configuration_naming_an_unknown_component_fails_clearly(isolated_registry):
    register_config(BASE.override("test-broken", "unknown envelope",
                                  envelope=ComponentSpec.of("wavelet")))
    with pytest.raises(ConfigError, match="no envelope component named 'wavelet'.*cepstral"):
        pipeline.get_pipeline("test-broken")


def test_bad_component_parameters_fail_clearly(isolated_registry):
    register_config(BASE.override("test-bad-params", "misspelt parameter",
                                  perceptual=ComponentSpec.of("evs-lpc", gama1=0.9)))
    with pytest.raises(ConfigError, match="bad parameters for perceptual component 'evs-lpc'"):
        pipeline.get_pipeline("test-bad-params")


def test_unknown_configuration_lists_the_configurations():
    with pytest.raises(ConfigError, match="unknown configuration 'nope'") as info:
        get_config("nope")
    message = str(info.value)
    assert "default" in message
    for name in config.configs():
        assert name in message


# --- entry points --------------------------------------------------------------------------------

PLUGIN_SOURCE = '''
import numpy as np
from hybridcodec.core.registry import register


@register("perceptual", "plugin-flat")
class PluginFlat:
    """A third-party perceptual component, registered on import."""

    def weights(self, envelope):
        return np.ones_like(envelope)
'''


def test_entry_point_components_are_loaded_once(isolated_registry, monkeypatch, tmp_path,
                                                speech):
    module_name = "hybridcodec_test_plugin"
    (tmp_path / f"{module_name}.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    plugin = metadata.EntryPoint(name="plugin-flat", value=module_name,
                                 group=registry.ENTRY_POINT_GROUP)
    calls = []

    def fake_entry_points(**selection):
        calls.append(selection)
        return [plugin] if selection.get("group") == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry.metadata, "entry_points", fake_entry_points)
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    assert "plugin-flat" not in registry._REGISTRY["perceptual"]

    assert "plugin-flat" in registry.components("perceptual")
    assert "plugin-flat" in registry.components("perceptual")
    assert calls == [{"group": "hybridcodec.components"}]

    register_config(BASE.override("test-plugin", "plugin weighting",
                                  perceptual=ComponentSpec.of("plugin-flat")))
    y, _ = api.decode(api.encode(speech, 16000, 16400, "test-plugin"))
    assert y.shape == speech.shape
    monkeypatch.delitem(sys.modules, module_name, raising=False)


# --- the configs command and configuration names -------------------------------------------------

def test_configs_command_lists_default_resolved_to_a_real_configuration(capsys):
    assert cli.main(["configs"]) == 0
    out = capsys.readouterr().out
    default = get_config("default")
    marked = [line for line in out.splitlines() if line.endswith(" (default)")]
    assert marked == [f"{default.name} (default)"]
    assert default.name in config.configs() and default.name != "default"
    assert get_config(default.name) is default


def test_override_keeps_base_and_is_frozen():
    flat = get_config("tcx-flat-weighting")
    assert flat.perceptual.name == "flat" and BASE.perceptual.name == "evs-lpc"
    assert flat.spectrum_quantizer == BASE.spectrum_quantizer
    with pytest.raises(AttributeError):
        flat.perceptual = ComponentSpec.of("evs-lpc")


def test_digest_names_what_the_slots_hold_not_the_name():
    renamed = BASE.override("another-name", "the same slots")
    assert renamed.digest() == BASE.digest()
    changed = BASE.override(BASE.name, BASE.description,
                            spectrum_quantizer=BASE.spectrum_quantizer.with_params(noise_fill_gain=0.6))
    assert changed.digest() != BASE.digest()


def test_digest_changes_with_the_format_version(monkeypatch):
    from hybridcodec.formats import hcb

    before = BASE.digest()
    monkeypatch.setattr(hcb, "FORMAT_VERSION", hcb.FORMAT_VERSION + 1)
    assert BASE.digest() != before      # cached training data of an older format is not reused


@pytest.mark.parametrize("name", ["tcx-laplacian-with-a-rather-long-descriptive-name",
                                  "x" * 26, "tcx-laplacian-a-forty-character-long-nam",
                                  "x" * 48, "tcx-é", "Tcx Laplacian", ""])
def test_any_registered_name_encodes_or_is_refused_clearly(isolated_registry, speech, name):
    # the name travels in the header; a name the header cannot carry within the file-size
    # slack must be refused with a ConfigError, never crash the encoder
    try:
        register_config(BASE.override(name, "a name to test the header with"))
        data = api.encode(speech, 16000, 16400, name)
    except ConfigError:
        return
    assert api.read_header(data).config_name == name
    assert len(data) <= 16400 * speech.shape[0] / 16000 / 8 + FILE_SLACK_BYTES
