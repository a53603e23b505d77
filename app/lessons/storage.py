"""Where lesson files live, behind one small interface.

The embedded default is a folder (`TUTORING_LESSONS_DIR`, default `data/lessons`). Several
instances share one: mount the same network file system (NFS, CephFS, a cloud file share) at the
same path on every instance, so that any instance serves a lesson any other one received — the
database says which key is which lesson. An object store (S3/MinIO) would implement the same
interface with ranged GETs; the folder is what runs here and what the tests cover.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol


class TooLarge(Exception):
    pass


class LessonStorage(Protocol):
    def new_key(self, lesson_id: int, suffix: str) -> str: ...
    def path(self, key: str) -> Path: ...
    async def write(self, key: str, chunks: AsyncIterator[bytes], limit: int) -> int: ...
    def delete(self, *keys: str | None) -> None: ...


class FolderStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def new_key(self, lesson_id: int, suffix: str) -> str:
        # Unguessable and never reused: a replaced video gets a new key, so no cache serves the old one.
        return f"{lesson_id}-{secrets.token_hex(8)}{suffix}"

    def path(self, key: str) -> Path:
        if "/" in key or "\\" in key or key.startswith("."):
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key

    async def write(self, key: str, chunks: AsyncIterator[bytes], limit: int) -> int:
        """Stream the chunks to the file (never the whole upload in memory); past `limit` bytes
        the partial file is removed and TooLarge raised."""
        target = self.path(key)
        partial = target.with_name(target.name + ".part")
        size = 0
        try:
            with partial.open("wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge()
                    f.write(chunk)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return size

    def delete(self, *keys: str | None) -> None:
        for key in keys:
            if key:
                self.path(key).unlink(missing_ok=True)
