"""Every shipped parameter file: named by its digest, loaded, refused once damaged."""
import pytest

from hybridcodec.errors import ConfigError
from hybridcodec.parameters import DATA_DIR, load_parameters, sha256_prefix

SHIPPED = sorted(DATA_DIR.glob("*.npz"))


def test_every_learned_component_ships_a_parameter_file():
    stems = {path.stem.rsplit("-", 1)[0] for path in SHIPPED}
    assert {"laplacian", "logistic-mixture", "lace", "psq-st", "psq-noise", "residual",
            "e2e-ae", "lsf-vq", "lsf-softmax"} <= stems


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_a_shipped_file_loads_and_a_damaged_copy_is_refused(tmp_path, path):
    assert path.stem.rsplit("-", 1)[1] == sha256_prefix(path)
    assert load_parameters(path)
    for position in (len(path.read_bytes()) // 2, -100):   # inside the arrays, near the end
        data = bytearray(path.read_bytes())
        data[position] ^= 0x01
        damaged = tmp_path / path.name
        damaged.write_bytes(bytes(data))
        with pytest.raises(ConfigError, match="damaged"):
            load_parameters(damaged)
