"""Hub repos Tern converts, and broken ones, for the local Hub: made once per session from the test helpers.

Every repo id starts with `tern-test/`. The good ones are the real file formats (tests/support/
ternary_repos.py, i2s_files.py): a Falcon3-style packed chat repo, its bitnet.cpp I2_S GGUF, a
2B-4T-style packed repo. The broken ones each fail one check the issue names.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

from tests.support import i2s_files
from tests.support import ternary_repos as R
from tests.support.hub_server import HubServer

CHAT = "tern-test/Chat-1.58bit"  # packed BitLinear, Llama-3 template: answers " Hello", then end of turn
CHAT_GGUF = "tern-test/Chat-1.58bit-GGUF"  # the same weights as a bitnet.cpp I2_S GGUF
BITNET = "tern-test/bitnet-b1.58-2B-4T-shaped"  # packed AutoBitLinear, bitnet graph, ReLU², tied
NOT_256 = "tern-test/bitnet_b1_58-3B-like"  # hidden size 320: no TQ encoding
NO_TOKENIZER = "tern-test/no-tokenizer-1.58bit"
UNKNOWN_QUANT = "tern-test/awq-1.58bit"
ROWS_MISMATCH = "tern-test/rows-mismatch-1.58bit"
TRUNCATED = "tern-test/truncated-1.58bit"  # the header promises more bytes than the file has
LYING = "tern-test/lying-header-1.58bit"  # a shape that does not match its byte range
NO_WEIGHTS = "tern-test/no-weights-1.58bit"
BROKEN_TOKENIZER = "tern-test/broken-tokenizer-1.58bit"  # only found once the small files are downloaded
I2S_SIZE = "tern-test/i2s-size-mismatch-GGUF"  # an I2_S tensor whose shape claims more bytes than it has
ZEROED = "tern-test/zeroed-1.58bit"  # a packed layer whose every weight is 0 (microsoft/BitNet#608's report)
SHARDED = "tern-test/sharded-1.58bit"  # the 2B-4T-shaped weights in two shards with an index
I2S_FILE = "ggml-model-i2_s.gguf"
WEIGHTS = "model.safetensors"


def _files(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}


def _edit_header(path: Path, edit: object) -> None:
    """Rewrite a safetensors header (its JSON) in place with `edit(header)`; the data stays as it is."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    edit(header)  # type: ignore[operator]
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + raw[8 + n :])


def _claim_shape(path: Path, tensor: str, first_dim: int) -> None:
    """Make `tensor`'s header entry claim another first dimension (ggml order: the input size)."""
    data = bytearray(path.read_bytes())
    name = tensor.encode()
    at = data.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
    (n_dims,) = struct.unpack_from("<I", data, at)
    assert n_dims == 2
    struct.pack_into("<Q", data, at + 4, first_dim)
    path.write_bytes(bytes(data))


def _zero(path: Path, tensor: str) -> None:
    """Overwrite a packed tensor's bytes with code 1 (weight 0) in all four bands: 0b01010101."""
    raw = bytearray(path.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    b, e = json.loads(raw[8 : 8 + n])[tensor]["data_offsets"]
    raw[8 + n + b : 8 + n + e] = b"\x55" * (e - b)
    path.write_bytes(bytes(raw))


def _shard(src: Path, folder: Path, parts: int = 2) -> None:
    """Split `src` (a safetensors file) into `model-0000i-of-0000n.safetensors` files and their index,
    the way transformers saves a large model; the tensors' bytes are copied as they are."""
    raw = src.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])
    weight_map = {}
    for i in range(parts):
        chunk = names[i::parts]
        out, blobs, offset = {}, [], 0
        for name in chunk:
            b, e = header[name]["data_offsets"]
            out[name] = {**header[name], "data_offsets": [offset, offset + e - b]}
            blobs.append(raw[8 + n + b : 8 + n + e])
            offset += e - b
        head = json.dumps(out, separators=(",", ":")).encode()
        head += b" " * (-len(head) % 8)
        shard = f"model-{i + 1:05d}-of-{parts:05d}.safetensors"
        (folder / shard).write_bytes(struct.pack("<Q", len(head)) + head + b"".join(blobs))
        weight_map.update({name: shard for name in chunk})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))


def build(folder: Path, server: HubServer) -> dict[str, Path]:
    """Make every repo under `folder` and publish it on `server`; returns the good sources by repo."""
    out: dict[str, Path] = {}
    chat = R.chat_repo(folder / "chat")
    server.add_repo(CHAT, _files(chat), license="other", tags=["safetensors", "bitnet", "1.58bit"], downloads=700)
    out[CHAT] = chat

    gg = folder / "chat-gguf"
    gg.mkdir()
    i2s_files.i2s_gguf(gg / I2S_FILE, R.chat_truth(), "bitnet-b1.58", pre="falcon3", template=R.LLAMA3_TEMPLATE)
    server.add_repo(CHAT_GGUF, _files(gg), license="other", tags=["gguf", "bitnet"], downloads=650)
    out[CHAT_GGUF] = gg / I2S_FILE

    bad = folder / "i2s-size"
    bad.mkdir()
    _claim_shape(shutil.copyfile(gg / I2S_FILE, bad / I2S_FILE), "blk.0.attn_q.weight", 512)
    server.add_repo(I2S_SIZE, _files(bad), tags=["gguf", "bitnet"])

    bitnet = R.packed_repo(folder / "bitnet", R.make_truth(R.Tiny(), seed=3), "autobitlinear")
    server.add_repo(BITNET, _files(bitnet), license="mit", tags=["safetensors", "bitnet"], downloads=800)
    out[BITNET] = bitnet

    wide = R.packed_repo(folder / "not256", R.make_truth(R.Tiny(hidden=320, intermediate=640, heads=4), 1),
                         "autobitlinear")
    server.add_repo(NOT_256, _files(wide), tags=["safetensors", "bitnet"])

    def variant(name: str) -> Path:
        return Path(shutil.copytree(bitnet, folder / name))

    no_tok = variant("no-tok")
    (no_tok / "tokenizer.json").unlink()
    server.add_repo(NO_TOKENIZER, _files(no_tok), tags=["safetensors"])

    awq = variant("awq")
    cfg = json.loads((awq / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "awq", "bits": 4}
    (awq / "config.json").write_text(json.dumps(cfg))
    server.add_repo(UNKNOWN_QUANT, _files(awq), tags=["safetensors"])

    rows = variant("rows")
    cfg = json.loads((rows / "config.json").read_text())
    cfg["intermediate_size"] = 768  # the packed gate/up rows hold 512
    (rows / "config.json").write_text(json.dumps(cfg))
    server.add_repo(ROWS_MISMATCH, _files(rows), tags=["safetensors"])

    trunc = variant("trunc")
    data = (trunc / WEIGHTS).read_bytes()
    (trunc / WEIGHTS).write_bytes(data[: len(data) - 4096])
    server.add_repo(TRUNCATED, _files(trunc), tags=["safetensors"])

    lying = variant("lying")

    def lie(h: dict) -> None:
        h["model.layers.1.mlp.up_proj.weight"]["shape"] = [256, 256]  # 65,536 bytes claimed, 32,768 held

    _edit_header(lying / WEIGHTS, lie)
    server.add_repo(LYING, _files(lying), tags=["safetensors"])

    zeroed = variant("zeroed")
    _zero(zeroed / WEIGHTS, "model.layers.1.mlp.down_proj.weight")
    server.add_repo(ZEROED, _files(zeroed), tags=["safetensors"])

    sharded = variant("sharded")
    _shard(sharded / WEIGHTS, sharded)
    (sharded / WEIGHTS).unlink()
    server.add_repo(SHARDED, _files(sharded), tags=["safetensors", "bitnet"])

    none = variant("none")
    (none / WEIGHTS).unlink()
    server.add_repo(NO_WEIGHTS, _files(none), tags=["safetensors"])

    broken = variant("broken-tok")
    tok = json.loads((broken / "tokenizer.json").read_text())
    tok["model"]["type"] = "Unigram"  # a tokenizer the converter does not read, found after the small files came
    (broken / "tokenizer.json").write_text(json.dumps(tok))
    server.add_repo(BROKEN_TOKENIZER, _files(broken), tags=["safetensors"])
    return out
