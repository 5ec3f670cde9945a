"""Synthetic Hub repos for the local Hub server: real GGUF files, made once per test session.

Every repo id starts with `tern-test/` so nothing here can be mistaken for a real Hub repo.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from gguf import GGUFReader, GGUFValueType, GGUFWriter

from backend.models.gguf_header import read_header
from backend.models.synth import make_model
from tests.support import convert_repos, gguf_files
from tests.support.hub_server import HubServer

TERNARY = "tern-test/tiny-ternary-GGUF"
SPLIT = "tern-test/tiny-split-GGUF"
I2S = "tern-test/bitnet-i2s-GGUF"
ARCH = "tern-test/unknown-arch-GGUF"
NOT_GGUF = "tern-test/not-a-gguf"
HUGE = "tern-test/huge-sparse-GGUF"
GATED = "tern-test/gated-GGUF"
ENORMOUS = "tern-test/enormous-GGUF"
TOKEN = "hf_tern_test_token_0123456789"
SEED = 11


def split_gguf(src: Path, dst: Path, max_tensors: int) -> list[Path]:
    """Split `src` like `llama-gguf-split` does: `dst-0000N-of-0000M.gguf`, with split.* metadata."""
    r = GGUFReader(src)
    w = GGUFWriter(dst, str(r.fields["general.architecture"].contents()), split_max_tensors=max_tensors)
    for key, fld in r.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = fld.types[0]
        w.add_key_value(key, fld.contents(), vtype, sub_type=fld.types[-1] if vtype == GGUFValueType.ARRAY else None)
    for t in r.tensors:
        w.add_tensor_info(t.name, t.data.shape, t.data.dtype, t.data.nbytes, t.tensor_type)
    dst.parent.mkdir(parents=True, exist_ok=True)
    w.write_header_to_file(dst)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for t in r.tensors:
        w.write_tensor_data(t.data)
    w.close()
    return w.format_shard_names(dst)


def with_architecture(src: Path, dst: Path, arch: str) -> Path:
    """A copy claiming another architecture (same length as `bitnet`, so offsets stay valid)."""
    assert len(arch) == len("bitnet")
    data = bytearray(src.read_bytes())
    end = read_header(src).data_start
    data[:end] = bytes(data[:end]).replace(b"bitnet", arch.encode())
    dst.write_bytes(bytes(data))
    return dst


def build_repos(folder: Path, server: HubServer, huge_bytes: int = 4 * 1024**3) -> dict[str, Path]:
    """Make every synthetic repo's files under `folder` and publish them on `server`."""
    folder.mkdir(parents=True, exist_ok=True)
    tq2 = make_model(folder / "tiny-TQ2_0.gguf", "tiny", "tq2_0", SEED)
    tq1 = make_model(folder / "tiny-TQ1_0.gguf", "tiny", "tq1_0", SEED)
    readme = folder / "README.md"
    readme.write_text("# tiny ternary\nSynthetic test model (random weights).\n")
    server.add_repo(TERNARY, {"tiny-TQ2_0.gguf": tq2, "tiny-TQ1_0.gguf": tq1, "README.md": readme},
                    license="mit", tags=["gguf", "bitnet", "ternary"], downloads=500)

    parts = split_gguf(make_model(folder / "split-src.gguf", "tiny", "tq2_0", SEED + 1),
                       folder / "split" / "tiny-split-TQ2_0.gguf", 10)
    server.add_repo(SPLIT, {p.name: p for p in parts}, license="mit", tags=["gguf", "bitnet"], downloads=300)

    i2s = gguf_files.with_tensor_type(tq2, folder / "ggml-model-i2_s.gguf", 36)
    server.add_repo(I2S, {"ggml-model-i2_s.gguf": i2s}, license="mit", tags=["gguf", "bitnet"], downloads=900)

    odd = with_architecture(tq2, folder / "odd-arch-TQ2_0.gguf", "zorbix")
    server.add_repo(ARCH, {"odd-arch-TQ2_0.gguf": odd}, tags=["gguf"], downloads=10)

    fake = folder / "fake.gguf"
    fake.write_text("This is not a GGUF file, whatever its name says.\n" * 20)
    st = folder / "model.safetensors"
    st.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    server.add_repo(NOT_GGUF, {"model.gguf": fake, "model.safetensors": st}, tags=["safetensors"])

    huge = gguf_files.larger_than_ram(tq2, folder / "huge-TQ2_0.gguf", huge_bytes)
    server.add_repo(HUGE, {"huge-TQ2_0.gguf": huge}, tags=["gguf", "ternary"], downloads=5,
                    declared_shas={"huge-TQ2_0.gguf": hashlib.sha256(b"not downloadable").hexdigest()})

    gated = shutil.copyfile(tq2, folder / "gated-TQ2_0.gguf")
    server.add_repo(GATED, {"gated-TQ2_0.gguf": gated}, tags=["gguf", "ternary"], gated=True, downloads=50)

    server.add_repo(ENORMOUS, {"enormous-TQ2_0.gguf": tq2}, tags=["gguf", "ternary"],
                    declared_sizes={"enormous-TQ2_0.gguf": 10**15})
    convert_repos.build(folder / "convert", server)  # sources Tern converts (and broken ones)
    return {"tq2": tq2, "tq1": tq1, "i2s": i2s, "huge": huge, "split": parts[0]}
