"""The README and docs/ quote the code; these checks keep them from going stale: every setting,
error code and endpoint is documented as the code has it, every link lands, the README stays a
front door, and its command-line example is what the command prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from service.errors import HTTP_STATUS
from service.gateway_settings import Settings
from vfer.models import DEFAULT_MODEL
from vfer.models.catalogue import SELECTION
from worker.worker_settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
SERVICE = ROOT / "docs" / "service.md"
MAX_README_LINES = 400


def table_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ")
    ]


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) < MAX_README_LINES, f"README.md has {len(lines)} lines: move reference text to docs/"
    assert "make serve" in "\n".join(lines[:40]) and "make test" in "\n".join(lines[:40])


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_link_lands(page: Path) -> None:
    text = page.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: link to {target} lands nowhere"
        if anchor and file.suffix == ".md":
            headings = {_anchor(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), re.M)}
            assert anchor in headings, f"{page.name}: no heading #{anchor} in {file.name}"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def test_every_setting_is_in_the_settings_table_and_every_row_is_a_setting() -> None:
    fields = set(Settings.model_fields) | set(WorkerSettings.model_fields)
    variables = {f"VFER_{name.upper()}" for name in fields}
    documented = {
        name for row in table_rows(SERVICE.read_text()) for name in re.findall(r"`(VFER_[A-Z0-9_]+)`", row[0])
    }
    assert variables <= documented, f"settings missing from {SERVICE.name}: {sorted(variables - documented)}"
    assert documented <= variables, f"rows for no setting: {sorted(documented - variables)}"


def test_every_error_code_is_in_the_error_table_under_its_status() -> None:
    listed = {}
    for row in table_rows(SERVICE.read_text()):
        if row and row[0].isdigit():
            for code in re.findall(r"`([a-z_]+)`", row[1]):
                listed[code] = int(row[0])
    for code, status in HTTP_STATUS.items():
        assert listed.get(code) == status, f"{code}: the table says {listed.get(code)}, the code {status}"
    assert set(listed) <= set(HTTP_STATUS), f"codes the service never sends: {set(listed) - set(HTTP_STATUS)}"


def test_every_route_is_in_the_endpoint_table() -> None:
    from service.app import create_app

    app = create_app(Settings())
    rows = " ".join(row[0] for row in table_rows(SERVICE.read_text()))
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/static", "/docs")) or path in ("/openapi.json", "/redoc"):
            continue  # the page's own files and the OpenAPI page's (its row names `/docs`)
        assert f"{path}`" in rows or f"{path} " in rows, f"route {path} is not in the endpoint table"


def test_the_readmes_example_is_what_vfer_predict_prints(data: Path) -> None:
    """The example went stale with the model (it showed figures of an earlier release)."""
    text = README.read_text()
    block = re.search(r"```console\n\$ (vfer predict [^\n]+)\n(.*?)```", text, re.S)
    assert block, "README.md has no `vfer predict` example"
    command, shown = block.group(1), block.group(2)
    run = subprocess.run(
        [sys.executable, "-m", "vfer.cli", *command.split()[1:], "--quiet"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr

    def steady(output: str) -> list[str]:  # times vary from run to run; the rest must not
        return [line.rstrip() for line in output.splitlines() if line.strip() and not line.strip().startswith("time:")]

    assert steady(run.stdout) == steady(shown.split("\n$ ")[0])


@pytest.mark.parametrize(
    "page", [README, *DOCS, ROOT / "vfer" / "models" / "weights" / "MODEL_CARD.md"], ids=lambda p: p.name
)
def test_no_placeholder_is_left(page: Path) -> None:
    text = page.read_text()
    assert "«" not in text and "<!--" not in text, f"{page.name} has a placeholder left"


def test_the_readmes_model_table_is_what_selection_json_records() -> None:
    """The README quotes each shipped model's pooled macro recall and FER+ valid accuracy: equal to
    the figures the rule read (weights/selection.json), a row for every candidate, the default marked."""
    candidates = json.loads(SELECTION.read_text())["candidates"]
    rows = {
        row[0].split()[0].strip("`"): row
        for row in table_rows(README.read_text())
        if len(row) == 5 and row[0].startswith("`") and row[0].split()[0].strip("`") in candidates
    }
    assert set(rows) == set(candidates), "README's model table lists every shipped model"
    for name, row in rows.items():
        figures = candidates[name]
        assert float(row[2].strip("*")) == pytest.approx(figures["pooled"]["macro_recall"], abs=0.0005), name
        assert float(row[3].strip("*")) == pytest.approx(figures["ferplus"]["accuracy"], abs=0.0005), name
        assert ("(default)" in row[0]) == (name == DEFAULT_MODEL), name
