"""The engine worker: a child process that owns one llama_cpp.Llama and speaks JSON lines.

Started as `python -m backend.engine.worker` (or `tern --engine-worker` from a frozen bundle).
stdin carries requests, the original stdout carries events; anything llama.cpp prints goes to
stderr, which the parent keeps the tail of for crash reports.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import queue
import signal
import sys
import threading
import time
from typing import IO, Any

from backend.engine import hardware
from backend.engine.cancels import Cancels
from backend.engine.chat_format import ChatFormatter
from backend.engine.protocol import DEFAULT_PARAMS, decode, encode
from backend.models.gguf_header import read_header
from backend.models.ram_fit import kv_cache_bytes

# Tokens are sent at most every 25 ms (at once for slower models): every message wakes the
# parent, and on a 2-core laptop each wake-up steals time from llama.cpp's threads. Each token
# keeps its own timestamp, so no figure changes; a screen refreshes at 30–60 ms anyway.
TOKEN_FLUSH_NS = 25_000_000


class _Cancelled(Exception):
    """A generate request cancelled before it started."""


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Worker:
    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.out_lock = threading.Lock()
        self.cancel = Cancels()  # by request id (backend/engine/cancels.py)
        self.requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.llm: Any = None
        self.formatter: ChatFormatter | None = None
        self.info: dict[str, Any] = {}
        self._abort_cb: Any = None
        self._buf = ctypes.create_string_buffer(64)

    # -- plumbing ---------------------------------------------------------------------------
    def emit(self, obj: dict[str, Any]) -> None:
        data = encode(obj)
        with self.out_lock:
            self.out.write(data)
            self.out.flush()

    def read_stdin(self, stdin: IO[bytes]) -> None:
        """Reader thread: cancel takes effect at once; everything else is queued in order."""
        for line in stdin:
            if not line.strip():
                continue
            try:
                req = decode(line)
            except ValueError as e:
                self.emit({"ev": "error", "id": None, "code": "bad_request", "message": f"unreadable request: {e}"})
                continue
            if req.get("op") == "cancel":
                self.cancel.cancel(req.get("id"))
            else:
                self.requests.put(req)
        self.cancel.cancel(None)  # the parent closed stdin (or died): stop the reply in progress…
        self.requests.put(None)  # … and shut down

    def run(self) -> None:
        self.emit({"ev": "ready", "pid": os.getpid()})
        while True:
            req = self.requests.get()
            if req is None or req.get("op") == "shutdown":
                break
            rid = req.get("id")
            op = req.get("op")
            self.cancel.begin(rid)
            try:
                handler = getattr(self, f"op_{op}", None)
                if handler is None:
                    raise RequestError("bad_request", f"unknown operation {op!r}")
                handler(rid, req)
            except RequestError as e:
                self.emit({"ev": "error", "id": rid, "code": e.code, "message": e.message})
            except Exception as e:  # keep serving: the parent decides what to do
                self.emit({"ev": "error", "id": rid, "code": "internal", "message": f"{type(e).__name__}: {e}"})
            finally:
                self.cancel.end()
        self.unload()

    # -- operations -------------------------------------------------------------------------
    def op_ping(self, rid: Any, req: dict[str, Any]) -> None:
        self.emit({"ev": "pong", "id": rid, "loaded": self.llm is not None, "rss": _rss()})

    def op_load(self, rid: Any, req: dict[str, Any]) -> None:
        import llama_cpp

        from backend.engine import cpu_backends
        from backend.errors import TernError

        try:
            cpu_backends.ensure_loaded()  # a portable (bundled) llama.cpp has no CPU backend until one is loaded
        except TernError as e:
            raise RequestError("no_cpu_backend", str(e)) from e
        self.unload()
        path = str(req["path"])
        n_threads = hardware.bound_threads(req.get("n_threads"))
        n_threads_batch = hardware.bound_threads(req.get("n_threads_batch") or n_threads)
        header = read_header(__import__("pathlib").Path(path))
        n_ctx = int(req.get("n_ctx") or 2048)
        if header.context_length:
            n_ctx = min(n_ctx, header.context_length)
        t0 = time.perf_counter()
        try:
            self.llm = llama_cpp.Llama(
                model_path=path, n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads_batch,
                n_batch=int(req.get("n_batch") or 512), seed=0, verbose=False, n_gpu_layers=0,
            )
        except Exception as e:
            self.llm = None
            raise RequestError("load_failed", f"llama.cpp could not load {path}: {e}") from e
        load_ms = (time.perf_counter() - t0) * 1000
        model = self.llm._model
        bos = model.token_get_text(model.token_bos()) if model.token_bos() >= 0 else ""
        eos = model.token_get_text(model.token_eos()) if model.token_eos() >= 0 else ""
        self.formatter = ChatFormatter(header.chat_template, bos, eos)
        self.info = {
            "path": path,
            "architecture": header.architecture,
            "name": header.name,
            "encoding": header.encoding,
            "quant_types": header.type_counts(),
            "n_params": header.n_params,
            "file_bytes": os.path.getsize(path),
            "n_ctx": self.llm.n_ctx(),
            "n_ctx_train": header.context_length or 0,
            "n_threads": n_threads,
            "n_threads_batch": n_threads_batch,
            "load_ms": load_ms,
            "rss": _rss(),
            "pid": os.getpid(),
            "has_chat_template": self.formatter.uses_template,
            "synthetic": bool(header.metadata.get("tern.synthetic", False)),
            "kv_bytes": kv_cache_bytes(header, self.llm.n_ctx()),
            "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
        }
        self.emit({"ev": "loaded", "id": rid, "info": self.info})

    def op_set_threads(self, rid: Any, req: dict[str, Any]) -> None:
        """Threads for decode steps and for prompt batches, on the loaded model (nothing is reloaded)."""
        import llama_cpp

        if self.llm is None:
            raise RequestError("not_loaded", "no model is loaded")
        n, nb = hardware.bound_threads(req.get("n_threads")), hardware.bound_threads(req.get("n_threads_batch"))
        llama_cpp.llama_set_n_threads(self.llm._ctx.ctx, n, nb)
        self.info.update(n_threads=n, n_threads_batch=nb)
        self.emit({"ev": "threads_set", "id": rid, "n_threads": n, "n_threads_batch": nb})

    def op_calibrate(self, rid: Any, req: dict[str, Any]) -> None:
        """Time decode steps and prompt batches at several thread counts (backend/engine/calibrate.py);
        answers `calibrated` with the figures, or with `cancelled` and nothing else."""
        from backend.engine.calibrate import Calibrator, candidates

        if self.llm is None:
            raise RequestError("not_loaded", "no model is loaded")
        counts = sorted({hardware.bound_threads(t) for t in req.get("candidates") or candidates()})
        default = hardware.bound_threads(0)

        def progress(done: int, total: int, what: str) -> None:
            self.emit({"ev": "calibrating", "id": rid, "done": done, "total": total, "what": what})

        current = (int(self.info["n_threads"]), int(self.info["n_threads_batch"]))
        result = Calibrator(self.llm, self.cancel.is_set, progress).run(counts, default, current)
        self.emit({"ev": "calibrated", "id": rid, "cancelled": result is None, "result": result})

    def op_bandwidth(self, rid: Any, req: dict[str, Any]) -> None:
        """The machine's streaming read test (backend/bench/bandwidth.py), run here to keep its buffer
        out of the window's memory."""
        from backend.bench.bandwidth import stream_read

        result = stream_read(hardware.bound_threads(req.get("threads")), req.get("bytes"))
        self.emit({"ev": "bandwidth", "id": rid, "result": result})

    def op_unload(self, rid: Any, req: dict[str, Any]) -> None:
        self.unload()
        self.emit({"ev": "unloaded", "id": rid, "rss": _rss()})

    def _prompt_tokens(self, req: dict[str, Any]) -> list[int]:
        """The request's prompt as tokens: the chat template applied to `messages` (or the raw `prompt`),
        then `prefix` (the start of the reply, when a cut-off reply is continued)."""
        if self.llm is None or self.formatter is None:
            raise RequestError("not_loaded", "no model is loaded")
        if "prompt" in req:
            prompt, has_bos = str(req["prompt"]), False
        else:
            prompt, has_bos = self.formatter.format(list(req.get("messages") or []))
        prompt += str(req.get("prefix") or "")
        add_bos = self.llm._model.add_bos_token() and not has_bos
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)

    def op_count(self, rid: Any, req: dict[str, Any]) -> None:
        """How many tokens a generate request with these messages would put in the context."""
        tokens = self._prompt_tokens(req)
        self.emit({"ev": "counted", "id": rid, "n": len(tokens), "n_ctx": self.llm.n_ctx()})

    def op_generate(self, rid: Any, req: dict[str, Any]) -> None:
        params = {**DEFAULT_PARAMS, **(req.get("params") or {})}
        t_start, wall_start = time.perf_counter_ns(), time.time_ns()
        cpu_start = hardware.cpu_seconds_self()
        tokens = self._prompt_tokens(req)
        llm = self.llm
        n_ctx = llm.n_ctx()
        if len(tokens) >= n_ctx:
            raise RequestError(
                "context_full",
                f"the conversation is {len(tokens)} tokens long, more than this model's context of {n_ctx} "
                "tokens; start a new conversation or raise the context length in Settings",
            )

        early = self.cancel.is_set()  # cancelled before it started: leave the KV cache as it is
        reuse = 0
        if not early:
            seed = int(params["seed"])
            llm.set_seed(seed if seed >= 0 else int.from_bytes(os.urandom(4), "little"))
            reuse = _common_prefix(llm, tokens) if params["reuse_cache"] else 0
            if reuse == len(tokens):
                reuse -= 1  # evaluate at least the last prompt token to get fresh logits
            if reuse > 0 and llm._ctx.kv_cache_seq_rm(-1, reuse, -1):
                llm.n_tokens = reuse
            else:
                reuse = 0
                llm.reset()

        stop_reason, out_tokens = "length", 0
        t_first = t_last = 0
        t_prefill_end = t_start
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        max_tokens = max(0, int(params["max_tokens"]))
        batch: list[list[Any]] = []  # tokens not yet sent: [text, index, t_ns]
        last_flush = 0
        try:
            if early:
                raise _Cancelled
            self._set_abort_callback(True)  # a long prompt can be cancelled mid-evaluation
            try:
                llm.eval(tokens[reuse:])
            finally:
                self._set_abort_callback(False)  # ggml calls it per graph node: too costly per token
            t_prefill_end = time.perf_counter_ns()
            llm._sampler = llm._init_sampler(
                top_k=int(params["top_k"]), top_p=float(params["top_p"]), min_p=float(params["min_p"]),
                temp=float(params["temperature"]), repeat_penalty=float(params["repeat_penalty"]),
            )
            while out_tokens < max_tokens:
                if self.cancel.is_set():
                    stop_reason = "cancelled"
                    break
                token = llm.sample()
                now = time.perf_counter_ns()
                if out_tokens == 0:
                    t_first = now
                t_last = now
                if not params["ignore_eos"] and self._is_eog(token):
                    stop_reason = "eos"
                    break
                out_tokens += 1
                batch.append([decoder.decode(self._piece(token)), out_tokens - 1, wall_start + (now - t_start)])
                if now - last_flush >= TOKEN_FLUSH_NS:
                    self._send_tokens(rid, batch)
                    last_flush = now
                if llm.n_tokens + 1 >= n_ctx:
                    stop_reason = "context"  # the context is full: not the same as the reply's token limit
                    break
                if out_tokens < max_tokens:
                    llm.eval([token])
            else:
                stop_reason = "length"
        except _Cancelled:
            stop_reason = "cancelled"
        except RuntimeError as e:
            if self.cancel.is_set():
                stop_reason = "cancelled"
                llm.reset()
            else:
                llm.reset()
                raise RequestError("generate_failed", f"llama.cpp failed while generating: {e}") from e
        finally:
            llm._sampler = None
            self._send_tokens(rid, batch)
        tail = decoder.decode(b"", final=True)  # bytes of a character the reply stopped inside
        t_end = time.perf_counter_ns()
        prefill_ms = (t_prefill_end - t_start) / 1e6
        evaluated = len(tokens) - reuse
        stats = {
            "prompt_tokens": len(tokens),
            "prompt_cached": reuse,
            "output_tokens": out_tokens,
            "ttft_ms": (t_first - t_start) / 1e6 if t_first else None,
            "prefill_ms": prefill_ms if t_prefill_end > t_start else None,
            "prefill_tps": evaluated / (prefill_ms / 1000) if t_prefill_end > t_start and prefill_ms > 0 else None,
            "decode_tps": (out_tokens - 1) / ((t_last - t_first) / 1e9)
            if out_tokens >= 2 and t_last > t_first else None,
            "total_ms": (t_end - t_start) / 1e6,
            "rss": (rss := _rss()),
            "peak_rss": max(hardware.peak_rss_self(), rss),  # the peak is read after: never below rss
            "cpu_s": hardware.cpu_seconds_self() - cpu_start,
            "stop_reason": stop_reason,
            "t_start_ns": wall_start,
            "t_first_ns": wall_start + (t_first - t_start) if t_first else 0,
            "t_end_ns": wall_start + (t_end - t_start),
        }
        self.emit({"ev": "done", "id": rid, "stats": stats, "tail": tail})

    # -- helpers ----------------------------------------------------------------------------
    def _send_tokens(self, rid: Any, batch: list[list[Any]]) -> None:
        """Send the tokens sampled since the last send (each with its own time), and forget them."""
        if batch:
            self.emit({"ev": "tokens", "id": rid, "items": batch[:]})
            batch.clear()

    def _set_abort_callback(self, on: bool) -> None:
        """Let cancel interrupt a long prompt evaluation, not only the gaps between tokens."""
        import llama_cpp

        if self._abort_cb is None:
            worker = self

            @llama_cpp.ggml_abort_callback
            def abort(_data: Any) -> bool:
                return worker.cancel.is_set()

            self._abort_cb = abort  # keep a reference: ctypes does not
        callback = self._abort_cb if on else llama_cpp.ggml_abort_callback()
        llama_cpp.llama_set_abort_callback(self.llm._ctx.ctx, callback, None)

    def _piece(self, token: int) -> bytes:
        """The bytes of one token (llama-cpp-python's own helper returns a padded 32-byte buffer)."""
        import llama_cpp

        vocab = self.llm._model.vocab
        n = llama_cpp.llama_token_to_piece(vocab, token, self._buf, len(self._buf), 0, False)
        if n < 0:  # the buffer is too small for this piece
            self._buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(vocab, token, self._buf, len(self._buf), 0, False)
        return self._buf.raw[:n]

    def _is_eog(self, token: int) -> bool:
        """End of generation: EOS, or an end-of-turn token such as Llama 3's <|eot_id|>."""
        import llama_cpp

        return bool(llama_cpp.llama_vocab_is_eog(self.llm._model.vocab, token))

    def unload(self) -> None:
        if self.llm is not None:
            self.llm.close()
            self.llm = None
            self.formatter = None
            self._abort_cb = None


def _common_prefix(llm: Any, tokens: list[int]) -> int:
    n = 0
    cached = llm._input_ids[: llm.n_tokens]
    for a, b in zip(cached, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def main() -> int:
    # The parent decides when its engine stops. A terminal's Ctrl+C reaches every process in its group,
    # engines included: without this they died mid-reply (a Python abort at shutdown) before the parent
    # could cancel their replies and close them in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep the protocol channel private: C code that prints to fd 1 must not corrupt it.
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out = os.fdopen(proto_fd, "wb", buffering=0)
    worker = Worker(out)
    reader = threading.Thread(target=worker.read_stdin, args=(sys.stdin.buffer,), daemon=True, name="stdin")
    reader.start()
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
