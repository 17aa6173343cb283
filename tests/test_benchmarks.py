"""The benchmark harness itself: a before-and-after figure is only as good as what it ran."""

from __future__ import annotations

from pathlib import Path

from benchmarks.long_video import measure


def test_long_video_against_runs_the_other_checkouts_code(tmp_path: Path) -> None:
    """`--against DIR` ran this checkout twice: `python -c` in this directory imported its own
    `vfer` ahead of PYTHONPATH, so a change was measured against itself (2026-12-07: "before"
    and "after" 14.9 and 15.5 s for a change that took 16.0 to 14.2 s when each tree ran)."""
    other = tmp_path / "checkout"
    (other / "vfer").mkdir(parents=True)
    (other / "vfer" / "__init__.py").write_text("")
    line, _, _ = measure("import vfer; print(vfer.__file__)", tree=other.resolve())
    assert Path(line).parent == (other / "vfer").resolve()
    line, _, _ = measure("import vfer; print(vfer.__file__)")
    assert Path(line).parent == Path(__file__).resolve().parents[1] / "vfer"
