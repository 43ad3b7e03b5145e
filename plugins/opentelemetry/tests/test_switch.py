"""Turning it on: installed it does nothing; `instrument()`, `RERANKIT_OTEL=1`, per client."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import rerankit
import rerankit_opentelemetry
from rerankit.hookspecs import LIFECYCLE_HOOKS
from rerankit.plugins import get_plugin_manager
from rerankit_opentelemetry import RerankitInstrumentor, enabled_by_environment

ROOT = Path(__file__).resolve().parents[3]


def test_the_entry_point_registers_the_package_with_no_hook_by_default(monkeypatch):
    (entry,) = [e for e in entry_points(group="rerankit") if e.name == "opentelemetry"]
    assert entry.value == "rerankit_opentelemetry"
    assert entry.dist.name == "rerankit-opentelemetry"
    pm = get_plugin_manager()
    assert pm.get_plugin("opentelemetry") is rerankit_opentelemetry
    # RERANKIT_OTEL is unset here: the clients skip the life-cycle hooks for it
    hooks = {caller.name for caller in pm.get_hookcallers(rerankit_opentelemetry) or []}
    assert hooks.isdisjoint(LIFECYCLE_HOOKS)


@pytest.mark.parametrize(("value", "on"), [("1", True), ("TRUE", True), ("0", False), ("", False)])
def test_the_environment_switch(monkeypatch, value, on):
    monkeypatch.setenv("RERANKIT_OTEL", value)
    assert enabled_by_environment() is on


def test_a_misspelt_environment_switch_is_warned_about(monkeypatch):
    monkeypatch.setenv("RERANKIT_OTEL", "enabled")
    with pytest.warns(rerankit.RerankitWarning, match="RERANKIT_OTEL='enabled' is not"):
        assert enabled_by_environment() is False


def test_instrument_traces_every_client_until_uninstrument(telemetry):
    instrumentor = rerankit_opentelemetry.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        assert rerankit_opentelemetry.instrument() is instrumentor  # idempotent
        with pytest.warns(rerankit.RerankitWarning, match="instrumented already"):
            rerankit_opentelemetry.instrument(propagate=False)
        rerankit.rerank("local/bm25", "gpu", ["gpu memory", "cats"])
    finally:
        rerankit_opentelemetry.uninstrument()
    rerankit.rerank("local/bm25", "gpu", ["gpu memory", "cats"])
    assert [s.name for s in telemetry.spans()] == ["rerank bm25"]
    assert isinstance(instrumentor, RerankitInstrumentor)


SCRIPT = """
import asyncio, json
import rerankit
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

rerankit.rerank("local/bm25", "before", ["the SDK is configured"])  # loads the plugins
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # after the plugin was loaded: still used
with trace.get_tracer("app").start_as_current_span("job"):
    rerankit.rerank("local/bm25", "gpu", ["gpu memory", "cats"])
    asyncio.run(rerankit.arerank("local/bm25", "gpu", ["gpu memory"]))
import rerankit_opentelemetry
rerankit_opentelemetry.uninstrument()  # undoes RERANKIT_OTEL=1 too
rerankit.rerank("local/bm25", "after", ["uninstrument"])
print(json.dumps([[s.name, s.parent.span_id if s.parent else None, s.context.span_id]
                  for s in exporter.get_finished_spans()]))
"""


def run_script(value: str, script: str = SCRIPT) -> Any:
    # only the two plugins it needs, so the script does not depend on the others
    env = {"PATH": "/usr/bin:/bin", "RERANKIT_OTEL": value}
    env["RERANKIT_LOAD_PLUGINS"] = "local,opentelemetry"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_rerankit_otel_1_traces_every_call_with_the_global_provider():
    spans = run_script("1")
    names = [name for name, _, _ in spans]
    assert names == ["rerank bm25", "rerank bm25", "job"]
    job_id = spans[2][2]
    assert spans[0][1] == spans[1][1] == job_id  # sync and async both under the user span


def test_installed_but_not_switched_on_traces_nothing():
    assert [name for name, _, _ in run_script("0")] == ["job"]


def test_switched_off_the_loaded_plugin_imports_no_opentelemetry():
    script = """
    import json, sys
    import rerankit
    rerankit.rerank("local/bm25", "q", ["a", "b"])
    from rerankit.plugins import get_lifecycle, get_plugin_manager
    print(json.dumps([
        get_plugin_manager().get_plugin("opentelemetry") is not None,
        get_lifecycle().active,
        "opentelemetry" in sys.modules,
    ]))
    """
    # loaded, but no hook: the clients skip the life-cycle hooks; no OpenTelemetry import
    assert run_script("", script) == [True, False, False]


AUTO_SCRIPT = """
import json
import shutil
import rerankit
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
rerankit.rerank("local/bm25", "gpu", ["gpu memory", "cats"])
print(json.dumps([s.name for s in exporter.get_finished_spans()]))
"""


def run_auto_instrumented(**env: str) -> list[str]:
    command = shutil.which("opentelemetry-instrument")
    if command is None:
        pytest.skip("opentelemetry-instrumentation is not installed")
    bin_dir = str(Path(sys.executable).parent)
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RERANKIT_OTEL": "", **env}
    environment["RERANKIT_LOAD_PLUGINS"] = "local,opentelemetry"
    done = subprocess.run(
        [command, sys.executable, "-c", AUTO_SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_opentelemetry_instrument_turns_it_on():
    (entry,) = [e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "rerankit"]
    assert entry.dist.name == "rerankit-opentelemetry"
    assert run_auto_instrumented() == ["rerank bm25"]


def test_opentelemetry_instrument_leaves_it_out_when_disabled():
    assert run_auto_instrumented(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="rerankit") == []


def test_the_auto_instrumentor_takes_the_loaders_keywords(telemetry):
    from rerankit_opentelemetry._auto import AutoInstrumentor

    auto = AutoInstrumentor()
    try:
        auto.instrument(skip_dep_check=True, tracer_provider=telemetry.tracer_provider)
        rerankit.rerank("local/bm25", "gpu", ["gpu memory", "cats"])
    finally:
        auto.uninstrument()
    assert [s.name for s in telemetry.spans()] == ["rerank bm25"]
    with pytest.warns(rerankit.RerankitWarning, match="does not use excluded_urls"):
        auto.instrument(excluded_urls="x")
    auto.uninstrument()
