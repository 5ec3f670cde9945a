"""Weight bytes a decode step reads, from the GGUF header: every layer, the final norm, the whole output head
(the token embeddings when tied), one row of untied token embeddings — checked against gguf-py's own reading."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGUFReader

from backend.bench.roofline import bits_per_weight, file_ideal_ratio, ideal_ratio, traffic_of, weight_traffic
from backend.models.convert import convert_file
from backend.models.gguf_header import read_header
from tests.support import ternary_repos as R


def test_a_tied_model_reads_every_tensor_once(tiny_models: dict[str, Path]) -> None:
    for enc, path in tiny_models.items():
        t = weight_traffic(read_header(path))
        tensors = {x.name: int(x.n_bytes) for x in GGUFReader(path).tensors}
        assert "output.weight" not in tensors and t.head_tied
        assert t.total == sum(tensors.values()), enc
        assert t.head == tensors["token_embd.weight"]
        assert t.layers == sum(n for name, n in tensors.items() if name.startswith("blk."))
    tq2, f16 = weight_traffic(read_header(tiny_models["tq2_0"])), weight_traffic(read_header(tiny_models["f16"]))
    assert tq2.linear_type == "TQ2_0" and f16.linear_type == "F16"
    assert f16.total > 4 * tq2.layers  # the layers are ternary on one side, F16 on the other
    assert 1 < file_ideal_ratio(tq2, f16) < ideal_ratio("TQ2_0")  # the head and norms are the same on both sides


def test_an_untied_model_reads_the_head_and_one_embedding_row(tmp_path: Path) -> None:
    spec = R.Tiny(arch="llama", act="silu", tied=False)
    src = R.packed_repo(tmp_path / "falcon", R.make_truth(spec, 2), "bitlinear", R.LLAMA3_TEMPLATE, True)
    out = convert_file(src, tmp_path / "f.gguf", head_encoding="q8_0").path
    t = weight_traffic(read_header(out))
    tensors = {x.name: (int(x.n_bytes), x) for x in GGUFReader(out).tensors}
    embd_bytes, embd = tensors["token_embd.weight"]
    row = embd_bytes // int(embd.shape[1])  # gguf-py's shape is ggml's order: (n_embd, n_vocab)
    assert not t.head_tied and t.head_type == "Q8_0" and t.head == tensors["output.weight"][0]
    assert t.total == sum(n for n, _ in tensors.values()) - embd_bytes + row


def test_bits_and_ideal_ratios() -> None:
    assert bits_per_weight("TQ2_0") == pytest.approx(2.0625) and bits_per_weight("TQ1_0") == pytest.approx(1.6875)
    assert ideal_ratio("TQ2_0") == pytest.approx(16 / 2.0625) and ideal_ratio("nonsense") is None


def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 10)
    traffic, why = traffic_of(bad)
    assert traffic is None and "header" in why


def test_a_missing_figure_reads_a_dash_with_its_reason(tiny_models: dict[str, Path]) -> None:
    """What the Compare columns and the roofline table show for GB/s and the share of bandwidth."""
    from backend.bench.roofline import side_roofline, streaming_figures

    header = read_header(tiny_models["tq2_0"])
    assert streaming_figures(side_roofline(header, None, 40.0)) == {
        "gb_per_s": ("—", "no decode speed was measured"), "share": ("—", "no decode speed was measured")}
    unmeasured = streaming_figures(side_roofline(header, 100.0, None))
    assert unmeasured["gb_per_s"][0].endswith("B/s") and unmeasured["gb_per_s"][1] is None
    assert unmeasured["share"][0] == "—" and "not measured yet" in str(unmeasured["share"][1])
    assert streaming_figures(side_roofline(header, 100.0, 0.001))["share"][1] is None
