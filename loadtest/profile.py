"""py-spy on a benchmark's server processes: collapsed stacks during the measured window and a
summary of where the time went (the README's per-message costs come from these summaries).

    python -m loadtest.signaling --pairs 200 --setup embedded --profile loadtest/results/prof

writes `<dir>/<name>.txt` (py-spy's raw collapsed stacks) and `<dir>/<name>-top.txt`: the
functions with the most samples on the stack (inclusive) and on top of it (self), as a share
of the samples. py-spy comes from PyPI (`pip install py-spy`; it is not a dependency of the
service); without it `--profile` says so and the benchmark runs unprofiled.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def pyspy() -> str | None:
    return shutil.which("py-spy") or (str(Path(sys.executable).with_name("py-spy"))
                                      if Path(sys.executable).with_name("py-spy").exists() else None)


class Sampler:
    """`py-spy record` on one process for `seconds`, raw (collapsed) format, GIL-holding samples
    only with `gil` (what costs CPU, not what waits)."""

    def __init__(self, pid: int, out: Path, seconds: float, gil: bool = False) -> None:
        exe = pyspy()
        self.out = out
        self.p: subprocess.Popen[bytes] | None = None
        if exe is None:
            print("  --profile: py-spy not found (pip install py-spy); running unprofiled", flush=True)
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [exe, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--duration",
               str(max(int(seconds), 1)), "--rate", "200", "--nonblocking"] + (["--gil"] if gil else [])
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def finish(self, top: int = 40) -> str:
        if self.p is None:
            return ""
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
        if not self.out.exists():
            return ""
        text = summarise(self.out.read_text(), top)
        self.out.with_name(self.out.stem + "-top.txt").write_text(text)
        return text


def _name(frame: str) -> str:
    # py-spy raw frames: "function (path/to/file.py:123)"; keep function and file, drop the line
    fn, _, where = frame.partition(" (")
    return f"{fn} ({where.rsplit(':', 1)[0]})" if where else fn


def summarise(collapsed: str, top: int = 40) -> str:
    incl: Counter[str] = Counter()
    self_: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = [_name(f) for f in stack.split(";")]
        total += count
        for f in set(frames):
            incl[f] += count
        self_[frames[-1]] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples", "", "inclusive (on the stack):"]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(top)]
    lines += ["", "self (on top of the stack):"]
    lines += [f"  {100 * c / total:5.1f}%  {f}" for f, c in self_.most_common(top)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(summarise(Path(sys.argv[1]).read_text(), int(sys.argv[2]) if len(sys.argv) > 2 else 40))
