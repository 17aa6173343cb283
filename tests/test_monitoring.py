"""The shipped alerts and dashboard (k8s/components/monitoring) ask only for metrics the gateway
and the inference workers export, and the PrometheusRule holds the plain rules file's groups.
(`make deploy-check` runs promtool's rule checks and unit tests on them.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from service.metrics import Metrics
from worker.metrics import InferenceMetrics

MONITORING = Path(__file__).resolve().parents[1] / "k8s" / "components" / "monitoring"
METRIC = re.compile(r"\bvfer_[a-z_]+")


def exported() -> set[str]:
    """Every sample name the two registries write (counters' _total, histograms' _bucket...)."""
    names = set()
    for registry in (Metrics().registry, InferenceMetrics().registry):
        for family in registry.collect():
            names |= {family.name, *(f"{family.name}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count"))}
    return names


def rule_exprs() -> list[str]:
    groups = yaml.safe_load((MONITORING / "vfer-rules.yaml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((MONITORING / "vfer-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_alerts_and_dashboard_ask_only_for_exported_metrics() -> None:
    known = exported()
    asked = {name for expr in rule_exprs() + dashboard_exprs() for name in METRIC.findall(expr)}
    assert asked and asked <= known, sorted(asked - known)
    assert {"vfer_queue_depth", "vfer_job_outcomes_total", "vfer_http_requests_total"} <= asked


def test_the_prometheusrule_holds_the_plain_rules() -> None:
    plain = yaml.safe_load((MONITORING / "vfer-rules.yaml").read_text())
    operator = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert operator["kind"] == "PrometheusRule"
    assert operator["spec"] == plain
