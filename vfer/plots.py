"""The expression timeline as a PNG (`vfer predict --plot`, `vfer stream --plot`): one lane per face
over the video's whole duration, each window a band in its label's colour, as on the web page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vfer.labels import LABELS
from vfer.result import UNCERTAIN_MARGIN

# The web page's colours (service/static/page.js), so a PNG and the page read alike.
COLORS = {
    "neutral": "#98a2b3",
    "surprise": "#f79009",
    "happy": "#12b76a",
    "disgust": "#7a5af8",
    "sad": "#2e90fa",
    "fear": "#ee46bc",
    "anger": "#f04438",
}
LANE = "#f2f4f7"
WEAK = 0.5  # a window whose top label has less probability is drawn thinner


def window_spans(windows: Sequence[Mapping[str, Any]]) -> list[tuple[float, float]]:
    """The time each window owns: the part nearest its centre, from the first start to the last end
    (windows overlap; the page draws the same spans)."""
    mids = [(w["start_s"] + w["end_s"]) / 2 for w in windows]
    spans = []
    for i, window in enumerate(windows):
        start = window["start_s"] if i == 0 else (mids[i - 1] + mids[i]) / 2
        end = window["end_s"] if i == len(windows) - 1 else (mids[i] + mids[i + 1]) / 2
        spans.append((start, end))
    return spans


def face_caption(face: Mapping[str, Any]) -> str:
    """ "face 0: happy 75%", the mean of its windows' distributions; a close call names the
    runner-up too, as the command line and the page do: "face 0: sad 29% or disgust 28% (close)"."""
    windows = face["windows"]
    dist = face.get("distribution") or {
        label: sum(w["distribution"][label] for w in windows) / len(windows) for label in LABELS
    }
    top, second = sorted(dist, key=lambda label: dist[label], reverse=True)[:2]
    caption = f"face {face['track_id']}: {top} {dist[top] * 100:.0f}%"
    if dist[top] - dist[second] < UNCERTAIN_MARGIN:
        caption += f" or {second} {dist[second] * 100:.0f}% (close)"
    return caption


def plot_timeline(faces: Sequence[Mapping[str, Any]], duration_s: float, path: str | Path, *, title: str) -> Path:
    """Write the timeline of `faces` (result-schema dicts with `track_id` and `windows`) to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    duration = max(duration_s, *(w["end_s"] for f in faces for w in f["windows"]), 1e-3)
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.5 * max(len(faces), 1)), dpi=120)
    for row, face in enumerate(faces):
        ax.broken_barh([(0, duration)], (row - 0.35, 0.7), color=LANE)
        for window, (start, end) in zip(face["windows"], window_spans(face["windows"]), strict=True):
            label = window["label"]
            half = 0.35 if window["distribution"][label] >= WEAK else 0.18
            ax.broken_barh([(start, end - start)], (row - half, 2 * half), color=COLORS[label], linewidth=0)
    if not faces:
        ax.text(duration / 2, 0, "no face found", ha="center", va="center", color="#5d6679")
    ax.set_yticks(range(len(faces)), [f"face {f['track_id']}" for f in faces])
    ax.set_ylim(max(len(faces), 1) - 0.5, -0.5)
    ax.set_xlim(0, duration)
    ax.set_xlabel("time in the video (s)")
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.legend(
        handles=[Patch(color=COLORS[label], label=label) for label in LABELS],
        ncols=len(LABELS),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
        fontsize=8,
        handlelength=1,
    )
    ax.set_title(f"{title}\n{'   '.join(face_caption(f) for f in faces)}\n", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
