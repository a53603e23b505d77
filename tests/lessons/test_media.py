"""Both decode paths of app/lessons/media.py (served as uploaded, transcoded) reject a damaged
file with the tutor's reason, keep no poster of it, and make the poster of a good one."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.lessons import media


def _cut(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


@pytest.mark.parametrize("kind", ["mp4", "webm"])
def test_a_file_cut_short_is_rejected_on_either_path_and_a_whole_one_gets_its_poster(videos, tmp_path, kind) -> None:  # type: ignore[no-untyped-def]
    whole = media.probe(videos[kind])
    decode = media.verify_and_poster if kind == "mp4" else (
        lambda src, poster, at, duration: media.transcode(src, tmp_path / "out.mp4", poster, at, duration))
    assert whole.phone_ready is (kind == "mp4")  # the MP4 is verified as it is, the WebM transcoded
    poster = tmp_path / "poster.jpg"
    decode(videos[kind], poster, 1.0, whole.duration_s)
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"
    poster.unlink()
    cut = _cut(videos[kind], tmp_path / f"cut.{kind}")
    with pytest.raises(media.MediaRejected, match="cut short|cannot be decoded"):
        decode(cut, poster, 1.0, whole.duration_s)
    assert not poster.exists()
