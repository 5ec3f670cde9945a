"""Check before download, for the sources Tern converts: ternary safetensors repos and bitnet.cpp I2_S GGUFs.

A safetensors repo: `config.json` (one small GET, at most 1 MiB) and each weight file's header, read
with exact HTTP range requests — 8 bytes, then the header's own length — so not one byte of the
weights moves; the converter's `check_safetensors` decides from them. An I2_S GGUF: the header
`inspect_remote` already read goes to `check_i2s`. Either way the verdict reads "runs here — converted
on this computer (N download, M on disk, needs ≈ R RAM)", or "cannot be converted here: " and why.

Why not huggingface_hub's `get_safetensors_metadata`: it always reads the first 100 kB of a file
(weights too, when the header is smaller), cannot be stopped from another thread, and does not check
the header against the file's size. Tern's reader is the one `inspect_remote` uses: the token goes to
the Hub only, a cancel Event stops it, and the converter's parser refuses a header that lies.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from backend import units
from backend.hub.api import HubFile, RepoListing, repo_listing
from backend.hub.env import HubEnv
from backend.hub.errors import Cancelled, HubError, from_exception, offline_error
from backend.hub.http import open_url, resolve_url
from backend.hub.names import check_repo
from backend.hub.remote import HttpRangeSource, Inspection
from backend.hub.verdict import CONVERTS, NOT_CONVERTIBLE, Verdict
from backend.models.convert import ConvertError, ConvertVerdict, check_i2s, check_safetensors
from backend.models.convert.plan import SMALL_FILES
from backend.models.convert.safetensors import STFile
from backend.models.convert.safetensors import parse_header as parse_st_header
from backend.models.gguf_header import GGUFHeader

SMALL_MAX = 1 << 20  # config.json, an index: anything bigger is not what it claims to be


@dataclass(frozen=True)
class SafetensorsRepo:
    """The files of a safetensors repo a conversion needs, from its listing."""

    repo: str
    weights: list[HubFile]
    small: list[HubFile]  # config.json, the index, the tokenizer files (downloaded first)

    @property
    def key_file(self) -> str:
        """The name the repo's weights go by in the library (and the catalog): the first weight file."""
        return self.weights[0].name if self.weights else "model.safetensors"

    @property
    def files(self) -> list[HubFile]:
        return [*self.small, *self.weights]


def is_safetensors_name(filename: str) -> bool:
    return filename.lower().endswith(".safetensors")


def safetensors_files(listing: RepoListing) -> SafetensorsRepo:
    """The weight files (top level of the repo; a sharded model's index is used when it is listed) and
    the small files that go with them. Weight files may be empty: the check then says so."""
    names = {f.name: f for f in listing.files}
    weights = sorted((f for f in listing.files if "/" not in f.name and is_safetensors_name(f.name)),
                     key=lambda f: f.name)
    small = [names[n] for n in SMALL_FILES if n in names]
    return SafetensorsRepo(listing.repo, weights, small)


def has_safetensors(listing: RepoListing) -> bool:
    return any(f.name == "config.json" for f in listing.files) and bool(safetensors_files(listing).weights)


def fetch_small(env: HubEnv, repo: str, f: HubFile, commit: str | None, cancel: threading.Event | None = None,
                limit: int = SMALL_MAX) -> bytes:
    """The whole of a small file (config.json, an index), refusing one larger than `limit`."""
    if f.size is not None and f.size > limit:
        raise ConvertError(f"{repo}/{f.name}", f"it is {units.size(f.size)}, too big to be what its name says",
                           code="bad_file")
    if cancel is not None and cancel.is_set():
        raise Cancelled("Check cancelled.")
    try:
        with open_url(resolve_url(env, repo, f.name, commit), env) as resp:
            data = resp.read(limit + 1)
    except Exception as e:  # noqa: BLE001 - HTTP and network failures become HubErrors
        raise from_exception(e, repo, f.name, bool(env.token), env.endpoint) from e
    if len(data) > limit:
        raise ConvertError(f"{repo}/{f.name}", "it is larger than 1 MiB, too big to be what its name says",
                           code="bad_file")
    return data


def _json(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ConvertError(where, "it is not valid JSON", code="bad_config") from e
    if not isinstance(doc, dict):
        raise ConvertError(where, "it is not a JSON object", code="bad_config")
    return doc


def verdict_of(v: ConvertVerdict) -> Verdict:
    """The converter's verdict in the words a row, a search result and `tern models inspect` show."""
    if not v.convertible:
        return Verdict(NOT_CONVERTIBLE, v.text, "unknown", True)
    return Verdict(CONVERTS, f"runs here — {v.text}", "TQ2_0", True)


def refusal(repo: str, filename: str, reason: str, n_ctx: int) -> Inspection:
    """A verdict that needs no more reading: the repo's listing already says it cannot be converted."""
    v = ConvertVerdict(repo, False, reasons=[reason])
    return Inspection(repo, filename, None, None, verdict_of(v), None, None, n_ctx, conversion=v)


def check_safetensors_repo(repo: str, token: str | None = None, n_ctx: int = 2048, listing: RepoListing | None = None,
                           available_ram: int | None = None, cancel: threading.Event | None = None,
                           env: HubEnv | None = None) -> Inspection:
    """The verdict for a safetensors repo from its listing, config.json and headers (no weights read).

    Raises HubError subclasses for HTTP and network failures; a repo that cannot be converted is an
    Inspection with verdict `not_convertible` and the reason (naming the file)."""
    check_repo(repo)
    env = env or HubEnv.current(token)
    if env.offline:
        raise offline_error(f"Offline mode is on (HF_HUB_OFFLINE), so {repo} cannot be checked.")
    listing = listing or repo_listing(repo, env=env)
    st = safetensors_files(listing)
    key = st.key_file
    names = [f.name for f in listing.files]
    if not st.weights:
        return refusal(repo, key, "it holds no weights (no *.safetensors file)", n_ctx)
    if "config.json" not in names:
        return refusal(repo, key, "it has no config.json, so Tern cannot tell what model the weights are", n_ctx)
    requests = bytes_read = 0
    try:
        by_name = {f.name: f for f in listing.files}
        raw = fetch_small(env, repo, by_name["config.json"], listing.commit, cancel)
        requests, bytes_read = 1, len(raw)
        config = _json(raw, f"{repo}/config.json")
        headers: dict[str, STFile] = {}
        for f in st.weights:
            if f.size is None:
                raise ConvertError(f"{repo}/{f.name}", "the Hub lists no size for it", code="bad_file")
            src = HttpRangeSource(resolve_url(env, repo, f.name, listing.commit), env, cancel, read_ahead=False)
            try:
                headers[f.name] = parse_st_header(src, f.size, f"{repo}/{f.name}")
            finally:
                requests, bytes_read = requests + src.requests, bytes_read + src.bytes_read
    except ConvertError as e:
        out = refusal(repo, key, f"{e.source}: {e.reason}", n_ctx)
        out.requests, out.bytes_read = requests, bytes_read
        return out
    except (Cancelled, HubError):
        raise
    except Exception as e:  # noqa: BLE001 - HTTP and network failures become HubErrors
        raise from_exception(e, repo, key, bool(env.token), env.endpoint) from e
    sizes = {f.name: f.size or 0 for f in st.files}
    v = check_safetensors(repo, config, headers, names, sizes, n_ctx=n_ctx, available_ram=available_ram)
    out = Inspection(repo, key, v.download_bytes, v.output_bytes, verdict_of(v), None, v.ram,
                     min(n_ctx, int(config.get("max_position_embeddings") or n_ctx)), requests, bytes_read,
                     conversion=v)
    return out


def check_i2s_header(ins: Inspection, header: GGUFHeader, file_size: int, n_ctx: int,
                     available_ram: int | None = None) -> Inspection:
    """Turn the "needs bitnet.cpp" verdict of an I2_S GGUF into Tern's conversion verdict."""
    where = f"{ins.repo}/{ins.filename}" if ins.repo else ins.filename
    v = check_i2s(where, header, file_size, n_ctx=n_ctx, available_ram=available_ram)
    ins.conversion = v
    ins.verdict = verdict_of(v)
    if v.ram is not None:
        ins.ram = v.ram
    if v.output_bytes:
        ins.model_bytes = v.output_bytes  # what lands on disk: the converted file (as for safetensors)
    return ins
