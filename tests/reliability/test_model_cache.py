"""A damaged contracting-RNN training cache is replaced, never fatal."""

import pytest

from glia_neuromorphic.errors import ProgramFileError
from glia_neuromorphic.models.contracting_rnn.storage import (
    load_assembly,
    train_or_load,
)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_cache_retrained(tmp_path, damage):
    _, _, info = train_or_load(0, tmp_path, sizes=(4,), epochs=1)
    assert info["cached"] is False
    (path,) = tmp_path.glob("assembly-*.npz")
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ProgramFileError, match="delete it to retrain"):
        load_assembly(path)

    _, _, info = train_or_load(0, tmp_path, sizes=(4,), epochs=1)
    assert info["cached"] is False
    _, _, info = train_or_load(0, tmp_path, sizes=(4,), epochs=1)
    assert info["cached"] is True
