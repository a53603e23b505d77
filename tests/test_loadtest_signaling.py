"""A small, untimed run of `python -m loadtest.signaling` on both setups: it completes, reports
every field, and loses nothing — neither a relayed message nor a transcript row."""
from pathlib import Path

from loadtest.signaling import REQUIRED

from . import infra

ROOT = Path(__file__).resolve().parent.parent


def test_the_relay_benchmark_runs_on_both_setups_and_loses_nothing() -> None:
    # The data dir (a demo city, the imported accounts, cached tokens) is kept between runs: the
    # first run seeds it, later ones only add live sessions.
    figures = infra.run_benchmark("signaling", ["--setup", "both", "--pairs", "3", "--seconds", "1", "--warm", "0.5",
                                                "--data-dir", str(ROOT / "loadtest/.data/signaling-test"),
                                                "--name", "signaling-test"], REQUIRED)
    for run in figures["runs"]:
        assert run["pairs"] == 3 and run["connections"] == 6 and run["instances"] == (1 if run["setup"] == "embedded" else 2)
        assert run["lost"] == 0 and run["floor_lost"] == 0 and run["echo_lost"] == 0
        assert run["transcript_missing"] == 0 and run["transcript_out_of_order"] == 0
        assert run["relay_p99_ms"] > 0 and run["floor_relay_p99_ms"] > 0 and run["cpu_ms_per_message"] > 0
