"""Child process for variant derivation: one `llama_model_quantize` call, then exit.

Runs apart from Tern because llama.cpp aborts the whole process on some bad inputs, and so a
cancel can simply kill it. Started as `python -m backend.models.quantize_worker SRC DST FTYPE
NTHREAD EMB_TYPE OUT_TYPE` (types are ggml type ids; -1 keeps llama.cpp's default choice).
Prints one JSON line `{"rc": N}`; warnings and errors from llama.cpp go to stderr.
"""

from __future__ import annotations

import ctypes
import json
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 6:
        print("usage: quantize_worker SRC DST FTYPE NTHREAD EMB_TYPE OUT_TYPE", file=sys.stderr)
        return 64
    src, dst, ftype, nthread, emb, out = args[0], args[1], *map(int, args[2:])
    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def _log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if level in (2, 3):  # warnings and errors only; bytes may end mid-character
            sys.stderr.write(text.decode("utf-8", errors="replace"))
            sys.stderr.flush()

    llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = nthread
    params.allow_requantize = True
    if emb >= 0:
        params.token_embedding_type = emb
    if out >= 0:
        params.output_tensor_type = out
    rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    print(json.dumps({"rc": int(rc)}), flush=True)
    return 0 if rc == 0 else 2


if __name__ == "__main__":
    raise SystemExit(main())
