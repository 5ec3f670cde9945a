from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("content", ["null", "5", '"dark"', "[1, 2]", "{not json"])
def test_a_file_that_is_not_settings_is_kept_beside_the_defaults(tern_home: Path, content: str) -> None:
    f = paths().settings_file
    f.parent.mkdir(parents=True)
    f.write_text(content)
    s = Settings.load()
    assert s.to_dict() == Settings().to_dict()
    [kept] = f.parent.glob("settings.json.bad-*")
    assert kept.read_text() == content
    assert len(s.notices) == 1 and str(kept) in s.notices[0] and "Defaults are used" in s.notices[0]
    s.update(theme="light")  # saving writes a new file and leaves the kept one alone
    assert json.loads(f.read_text())["theme"] == "light" and kept.read_text() == content


def test_out_of_range_values_fall_back_and_the_file_is_kept(tern_home: Path) -> None:
    f = paths().settings_file
    f.parent.mkdir(parents=True)
    original = '{"threads": 100000, "sampler_hz": NaN, "n_ctx": 10, "cpu_watts_per_core": Infinity, "theme": "dark"}'
    f.write_text(original)
    s = Settings.load()
    assert (s.threads, s.sampler_hz, s.n_ctx, s.cpu_watts_per_core, s.theme) == (0, 10.0, 2048, 0.0, "dark")
    [kept] = f.parent.glob("settings.json.bad-*")
    assert kept.read_text() == original
    for key in ("threads = 100000", "sampler_hz = NaN", "n_ctx = 10", "cpu_watts_per_core = Infinity"):
        assert key in s.notices[0]
    s.save()
    assert json.loads(f.read_text())["threads"] == 0


def test_settings_that_cannot_be_saved_keep_working(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the config folder should be")
    s = Settings.load(blocker / "settings.json")
    s.update(theme="dark")  # no exception: the change holds for this session
    assert s.theme == "dark"
    assert "cannot be saved" in s.notices[-1] and "changes last until Tern closes" in s.notices[-1]
    s.update(theme="light")
    assert len([n for n in s.notices if "cannot be saved" in n]) == 1  # said once


def test_keep_source_defaults_off_and_is_kept(tern_home: Path) -> None:
    s = Settings.load()
    assert s.keep_source is False  # a converted model's download is removed once the conversion is verified
    s.update(keep_source=True)
    assert Settings.load().keep_source is True
    paths().settings_file.write_text(json.dumps({"keep_source": "yes"}))
    assert Settings.load().keep_source is False  # not a bool: the default
