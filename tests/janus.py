"""A Janus of this test run's own, started by scripts/ensure-janus.sh (which installs Debian's
package when it is missing). A test that needs it FAILS when it cannot be started — never skips."""
from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ensure-janus.sh"


@dataclass
class Janus:
    url: str
    api_secret: str
    pid: int
    folder: Path


def start_janus(folder: Path, **env: str) -> Janus:
    run = subprocess.run([str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    if run.returncode != 0:
        raise AssertionError(f"scripts/ensure-janus.sh could not start Janus (exit {run.returncode}):\n{run.stderr[-3000:]}")
    out = dict(line.split("=", 1) for line in run.stdout.split() if "=" in line)
    return Janus(out["TUTORING_JANUS_URL"], out["TUTORING_JANUS_API_SECRET"], int(out["JANUS_PID"]), folder)


def stop_janus(janus: Janus) -> None:
    try:
        os.kill(janus.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Janus]:
    janus = start_janus(tmp_path_factory.mktemp("janus"))
    yield janus
    stop_janus(janus)


def janus_settings(settings, janus: Janus, prefix: str):  # type: ignore[no-untyped-def]
    """The app's settings switched to this Janus, its rooms under a prefix of this test's own."""
    return settings.model_copy(update={"class_media": "janus", "janus_url": janus.url, "janus_api_secret": janus.api_secret,
                                       "janus_room_prefix": prefix})
