"""The local model registry: each model Tern knows, with its variants (one file per encoding).

A *model* is one set of weights; a *variant* is that model in one encoding (TQ2_0, TQ1_0, F16…).
Two variants of one model are a *variant pair* for the comparison.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.errors import TernError
from backend.store import Store

# Preference when a model is named without an encoding: the fast ternary kernels first.
ENCODING_PREFERENCE = ["TQ2_0", "TQ1_0", "F16", "BF16", "F32"]
TERNARY = {"TQ1_0", "TQ2_0"}


class UnknownModel(TernError):
    code = "unknown_model"


@dataclass
class Variant:
    id: int
    model_id: int
    model_name: str
    encoding: str
    path: Path
    file_bytes: int
    sha256: str | None
    source: str  # hub | derived | imported | synthetic
    source_repo: str | None
    source_file: str | None
    derived_from_path: str | None
    derived_from_sha256: str | None
    verified: bool
    complete: bool
    quarantined: bool
    info: dict[str, Any]

    @property
    def ternary(self) -> bool:
        return self.encoding.upper() in TERNARY

    @property
    def usable(self) -> bool:
        return self.complete and not self.quarantined and self.path.exists()


@dataclass
class LocalModel:
    id: int
    name: str
    family: str | None
    repo: str | None
    n_params: int | None
    chat: bool | None
    license: str | None
    synthetic: bool
    variants: list[Variant] = field(default_factory=list)

    def variant(self, encoding: str | None = None) -> Variant | None:
        usable = [v for v in self.variants if v.usable]
        if encoding:
            return next((v for v in usable if v.encoding.upper() == encoding.upper()), None)
        for enc in ENCODING_PREFERENCE:
            v = next((v for v in usable if v.encoding.upper() == enc), None)
            if v:
                return v
        return usable[0] if usable else None


class Registry:
    def __init__(self, store: Store) -> None:
        self.store = store

    def ensure_model(self, name: str, **fields: Any) -> int:
        db = self.store.db
        row = db.execute("SELECT id FROM models WHERE name = ?", (name,)).fetchone()
        if row:
            if fields:
                sets = ", ".join(f"{k} = COALESCE(?, {k})" for k in fields)
                db.execute(f"UPDATE models SET {sets} WHERE id = ?", (*fields.values(), row["id"]))
            return int(row["id"])
        cols = ["name", "added_at", *fields]
        cur = db.execute(
            f"INSERT INTO models ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            (name, time.time(), *fields.values()),
        )
        return int(cur.lastrowid)  # type: ignore[arg-type]

    def add_variant(self, model_name: str, path: str | Path, encoding: str, source: str,
                    model_fields: dict[str, Any] | None = None, **fields: Any) -> Variant:
        """Record a complete file as a variant (replacing any record of the same path).

        The path is kept as given (made absolute, symlinks not followed): a Hub download is a
        snapshot symlink whose split-model siblings sit next to it, not next to the blob.
        `file_bytes` may be given (all parts of a split model); it defaults to the file's size.
        """
        path = _abs(path)
        info = fields.pop("info", {})
        file_bytes = fields.pop("file_bytes", None) or path.stat().st_size
        with self.store.transaction():
            model_id = self.ensure_model(model_name, **(model_fields or {}))
            self.store.db.execute("DELETE FROM variants WHERE path = ?", (str(path),))
            cols = ["model_id", "encoding", "path", "file_bytes", "source", "added_at", "info_json", *fields]
            values = [model_id, encoding.upper(), str(path), file_bytes, source, time.time(),
                      json.dumps(info), *fields.values()]
            cur = self.store.db.execute(
                f"INSERT INTO variants ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", values
            )
        return self.variant_by_id(int(cur.lastrowid))  # type: ignore[arg-type]

    def update_variant(self, vid: int, **fields: Any) -> None:
        if "info" in fields:
            fields["info_json"] = json.dumps(fields.pop("info"))
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.store.db.execute(f"UPDATE variants SET {sets} WHERE id = ?", (*fields.values(), vid))

    def variant_by_id(self, vid: int) -> Variant:
        row = self.store.db.execute(
            "SELECT v.*, m.name AS model_name FROM variants v JOIN models m ON m.id = v.model_id WHERE v.id = ?",
            (vid,),
        ).fetchone()
        if row is None:
            raise KeyError(vid)
        return _variant(row)

    def variant_by_path(self, path: str | Path) -> Variant | None:
        """The variant recorded for `path`, matched as given or through symlinks (snapshot vs blob)."""
        query = "SELECT v.*, m.name AS model_name FROM variants v JOIN models m ON m.id = v.model_id"
        row = self.store.db.execute(query + " WHERE v.path = ?", (str(_abs(path)),)).fetchone()
        if row:
            return _variant(row)
        target = Path(path).resolve()
        for row in self.store.db.execute(query):
            if Path(row["path"]).resolve() == target:
                return _variant(row)
        return None

    def models(self) -> list[LocalModel]:
        db = self.store.db
        models = {r["id"]: _model(r) for r in db.execute("SELECT * FROM models ORDER BY name")}
        for row in db.execute(
            "SELECT v.*, m.name AS model_name FROM variants v JOIN models m ON m.id = v.model_id ORDER BY v.id"
        ):
            models[row["model_id"]].variants.append(_variant(row))
        return list(models.values())

    def find(self, name: str) -> LocalModel | None:
        key = name.lower()
        for m in self.models():
            if m.name.lower() == key:
                return m
        return None

    def resolve(self, spec: str | Path) -> Path:
        """A GGUF path from a path, a model name, or `name:ENCODING` (e.g. `demo:f16`)."""
        p = Path(spec).expanduser()
        if looks_like_path(spec):
            return p
        name, _, encoding = str(spec).partition(":")
        model = self.find(name)
        if model is None:
            known = ", ".join(m.name for m in self.models()) or "none yet (try `tern demo`)"
            raise UnknownModel(f"No local model is called {name!r}.", f"Known models: {known}.")
        variant = model.variant(encoding or None)
        if variant is None:
            have = ", ".join(v.encoding for v in model.variants if v.usable) or "none usable"
            what = f"usable {encoding.upper()} variant" if encoding else "usable variant"
            raise UnknownModel(f"Model {model.name!r} has no {what}.",
                               f"Its variants: {have}.")
        return variant.path

    def remove_model(self, name: str) -> list[Variant]:
        """Forget a model; returns its variants so the caller can delete files it owns."""
        model = self.find(name)
        if model is None:
            raise UnknownModel(f"No local model is called {name!r}.")
        self.store.db.execute("DELETE FROM models WHERE id = ?", (model.id,))
        return model.variants

    def remove_variant(self, vid: int) -> None:
        self.store.db.execute("DELETE FROM variants WHERE id = ?", (vid,))


def looks_like_path(spec: str | Path) -> bool:
    """Is `spec` a file (a path or a .gguf name) rather than a model name? Paths need no registry."""
    p = Path(spec).expanduser()
    return p.suffix.lower() == ".gguf" or p.exists() or "/" in str(spec) or "\\" in str(spec)


def _abs(path: str | Path) -> Path:
    """Absolute and normalized, without following symlinks."""
    return Path(os.path.abspath(Path(path).expanduser()))


def _model(row: Any) -> LocalModel:
    return LocalModel(row["id"], row["name"], row["family"], row["repo"], row["n_params"],
                      None if row["chat"] is None else bool(row["chat"]), row["license"], bool(row["synthetic"]))


def _variant(row: Any) -> Variant:
    return Variant(
        row["id"], row["model_id"], row["model_name"], row["encoding"], Path(row["path"]), row["file_bytes"],
        row["sha256"], row["source"], row["source_repo"], row["source_file"], row["derived_from_path"],
        row["derived_from_sha256"], bool(row["verified"]), bool(row["complete"]), bool(row["quarantined"]),
        json.loads(row["info_json"] or "{}"),
    )
