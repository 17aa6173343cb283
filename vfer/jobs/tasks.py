"""Task names, and the outcome every task returns.

A task never raises for the caller's input: it returns `{"ok": true, "result": ...}` or
`{"ok": false, "error": {"code", "message"}}`, so that only infrastructure faults are retried.
"""

from __future__ import annotations

from typing import Any

PREDICT_TASK = "vfer.predict"  # one uploaded video (VideoJob)
PREDICT_WINDOW_TASK = "vfer.predict_window"  # one live-stream window (WindowJob)

Outcome = dict[str, Any]


def succeeded(result: dict[str, Any]) -> Outcome:
    return {"ok": True, "result": result}


def failed(code: str, message: str) -> Outcome:
    return {"ok": False, "error": {"code": code, "message": message}}
