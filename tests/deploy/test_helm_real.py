"""The chart through Helm itself: `helm lint --strict` clean, and `helm template` renders
the same documents as tests/deploy/helm_render.py.

Runs where Helm is available: the `helm` command, or Helm's Go SDK through the
`helm-python-sdk` wheel (CI: `uv run --with helm-python-sdk pytest tests/deploy/test_helm_real.py`).
Skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.deploy.helm_render import Renderer, documents
from tests.deploy.test_helm_chart import CHART

VALUE_SETS: list[dict[str, Any]] = [
    {},
    {
        "autoscaling": {"enabled": True, "maxReplicas": 6},
        "serviceMonitor": {"enabled": True},
        "redisUrl": "redis://redis:6379/0",
        "extraEnv": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
        "image": {"tag": "9.9.9"},
        "resources": {"limits": {"memory": "1Gi"}},
        "workers": 2,
    },
]


class _Helm:
    """`lint(values)` -> problems (warnings and errors); `template(values)` -> documents."""

    def __init__(self) -> None:
        self.binary = shutil.which("helm")
        self.sdk: Any = None
        if self.binary is None:
            if os.environ.get("RERANKIT_REQUIRE_HELM"):  # .ci/run's Helm step: never skip
                import helm_python.chart as sdk

                self.sdk = sdk
            else:
                self.sdk = pytest.importorskip("helm_python.chart", reason="needs helm")

    def lint(self, values: dict[str, Any], tmp_path) -> list[str]:
        if self.sdk is not None:
            report = self.sdk.lint(str(CHART), values, strict=True)
            return [m["error"] for m in report["messages"] if m["severity"] >= 2] + report["errors"]
        path = tmp_path / "values.json"
        path.write_text(json.dumps(values))
        run = subprocess.run(
            [self.binary, "lint", "--strict", str(CHART), "-f", str(path)],
            capture_output=True,
            text=True,
        )
        return [] if run.returncode == 0 else [run.stdout + run.stderr]

    def template(self, values: dict[str, Any], tmp_path) -> list[dict[str, Any]]:
        if self.sdk is not None:
            with self.sdk.Chart.load(str(CHART)) as chart:
                rendered = chart.render(values, name="rr", namespace="search")
            return documents({name.rsplit("/", 1)[-1]: text for name, text in rendered.items()})
        path = tmp_path / "values.json"
        path.write_text(json.dumps(values))
        run = subprocess.run(
            [self.binary, "template", "rr", str(CHART), "-n", "search", "-f", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        return [d for d in yaml.safe_load_all(run.stdout) if d]


@pytest.fixture(scope="module")
def helm() -> _Helm:
    return _Helm()


@pytest.mark.parametrize("values", VALUE_SETS)
def test_helm_lint_strict_is_clean(helm, values, tmp_path):
    assert helm.lint(values, tmp_path) == []


@pytest.mark.parametrize("values", VALUE_SETS)
def test_helm_renders_what_the_test_renderer_renders(helm, values, tmp_path):
    ours = documents(
        Renderer(CHART, json.loads(json.dumps(values)), name="rr", namespace="search").render_all()
    )

    def key(doc: dict[str, Any]) -> str:
        return doc["kind"]

    assert sorted(helm.template(values, tmp_path), key=key) == sorted(ours, key=key)
