"""Print the third-party requirements of vfer's extras, one per line, from pyproject.toml.

The images install these in a layer of their own before the code is copied, so a code change
does not reinstall torch:  python requirements.py pyproject.toml gateway > requirements.txt
(several extras: `gateway otel` or `gateway,otel`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

_SELF = re.compile(r"^vfer\[(?P<extras>[^\]]+)\]$")


def requirements(project: dict[str, object], extras: list[str]) -> list[str]:
    """The base dependencies plus each extra's, following `vfer[...]` self-references."""
    meta = project["project"]
    assert isinstance(meta, dict)
    optional: dict[str, list[str]] = meta["optional-dependencies"]
    found: list[str] = list(meta["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"requirements.py: no extra {extra!r} in pyproject.toml")
        seen.add(extra)
        for line in optional[extra]:
            if match := _SELF.match(line):
                todo += [name.strip() for name in match["extras"].split(",")]
            elif line not in found:
                found.append(line)
    return found


if __name__ == "__main__":
    path, *given = sys.argv[1:]
    wanted = [extra for arg in given for extra in arg.split(",") if extra]  # "worker,otel" too
    print("\n".join(requirements(tomllib.loads(Path(path).read_text()), wanted)))
