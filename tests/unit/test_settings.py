from __future__ import annotations

import json
from pathlib import Path

from app.settings import Settings
from backend.paths import paths


def test_defaults_and_round_trip(tern_home: Path) -> None:
    s = Settings.load()
    assert (s.threads, s.n_ctx, s.theme, s.offline) == (0, 2048, "system", False)
    seen = []
    s.subscribe(lambda st: seen.append(st.theme))
    s.update(theme="dark", n_ctx=4096)
    assert seen == ["dark"]
    again = Settings.load()
    assert (again.theme, again.n_ctx) == ("dark", 4096)
    assert paths().settings_file.is_relative_to(tern_home)


def test_bad_values_fall_back(tern_home: Path) -> None:
    f = paths().settings_file
    f.parent.mkdir(parents=True)
    f.write_text(json.dumps({"theme": "purple", "n_ctx": "big", "threads": -3, "offline": 1}))
    s = Settings.load()
    assert (s.theme, s.n_ctx, s.threads, s.offline) == ("system", 2048, 0, False)
    f.write_text("{not json")
    assert Settings.load().theme == "system"


def test_keep_source_defaults_off_and_is_kept(tern_home: Path) -> None:
    s = Settings.load()
    assert s.keep_source is False  # a converted model's download is removed once the conversion is verified
    s.update(keep_source=True)
    assert Settings.load().keep_source is True
    paths().settings_file.write_text(json.dumps({"keep_source": "yes"}))
    assert Settings.load().keep_source is False  # not a bool: the default
