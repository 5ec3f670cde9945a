"""Removing a model or one variant: the registry's rows, and the files Tern owns — never the user's own.

`removal_plan` says what `remove_model` will do without touching anything, so the window's confirmation
shows exactly the space freed. Hub files leave the Hugging Face cache (a blob only when no other snapshot
uses it, and never anything outside the repo's folder, whatever the registry says); derived, converted
and synthetic files and imported copies (all in Tern's data dir) are deleted; a file imported in place
stays where the user keeps it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.hub import cache as hc
from backend.hub.names import filename_problem
from backend.models.registry import LocalModel, Registry, UnknownModel, Variant
from backend.paths import paths

log = logging.getLogger("tern.hub")


def drop_model_row(registry: Registry, name: str) -> None:
    registry.store.db.execute("DELETE FROM models WHERE name = ?", (name,))


def inside_folder(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


@dataclass
class RemoveResult:
    model: str
    freed_bytes: int
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # files that are the user's own (imported in place)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "freed_bytes": self.freed_bytes, "deleted": self.deleted, "kept": self.kept}


@dataclass
class RemovalPlan:
    """What removing some variants does to the disk: computed without touching anything, so the
    window's confirmation shows exactly what `remove_model` will then do."""

    delete: list[Path] = field(default_factory=list)
    freed_bytes: int = 0
    kept: list[Path] = field(default_factory=list)  # the user's own files (imported in place)


def removal_plan(variants: list[Variant]) -> RemovalPlan:
    """Hub files leave the HF cache (a blob only when no other snapshot uses it); derived and
    synthetic files and imported copies (all in Tern's data dir) are deleted; a file imported in
    place stays where the user keeps it."""
    plan = RemovalPlan()
    data = paths().data
    for v in variants:
        p = Path(v.path)
        if v.source == "hub" and not v.quarantined:
            _plan_hub_files(v, plan)
        elif inside_folder(p, data) and p.exists():
            plan.delete.append(p)
            plan.freed_bytes += p.stat().st_size
        elif p.exists():
            plan.kept.append(p)
    return plan


def _plan_hub_files(v: Variant, plan: RemovalPlan) -> None:
    """A Hub variant's snapshot entries and the blobs only they use — and nothing outside its repo's
    folder of the cache, whatever the registry says (its rows are files anyone could edit)."""
    path = Path(v.path)
    names = v.info.get("parts") or [v.source_file or path.name]
    first = v.source_file or path.name
    if filename_problem(first) or any(filename_problem(n) for n in names) or not str(path).endswith(first):
        log.warning("not deleting the files of %s:%s: its recorded file names are not the Hub's", v.model_name,
                    v.encoding)
        return
    snapshot = path
    for _ in Path(first).parts:
        snapshot = snapshot.parent  # snapshots/<commit>
    blobs = snapshot.parent.parent / "blobs"
    pointers = [snapshot / name for name in names]
    for pointer in pointers:
        if not inside_folder(pointer.parent, snapshot):
            continue
        if pointer.is_symlink():
            blob = pointer.resolve()
            plan.delete.append(pointer)
            if inside_folder(blob, blobs) and blob.exists() and not hc.blob_referenced(blob, ignoring=set(pointers)):
                plan.delete.append(blob)
                plan.freed_bytes += blob.stat().st_size
        elif pointer.exists():
            plan.delete.append(pointer)
            plan.freed_bytes += pointer.stat().st_size


def remove_model(registry: Registry, name: str, encoding: str | None = None) -> RemoveResult:
    """Forget a model (or one variant) and delete the files Tern owns (see `removal_plan`); returns
    the space freed. Raises UnknownModel."""
    model: LocalModel | None = registry.find(name)
    if model is None:
        known = ", ".join(m.name for m in registry.models()) or "none"
        raise UnknownModel(f"No local model is called {name!r}.", f"Known models: {known}.")
    variants = [v for v in model.variants if encoding is None or v.encoding.upper() == encoding.upper()]
    plan = removal_plan(variants)
    for path in plan.delete:
        path.unlink(missing_ok=True)
    for v in variants:
        registry.remove_variant(v.id)
    left = registry.find(model.name)
    if encoding is None or left is None or not left.variants:
        drop_model_row(registry, model.name)
    return RemoveResult(model.name, plan.freed_bytes, [str(p) for p in plan.delete], [str(p) for p in plan.kept])
