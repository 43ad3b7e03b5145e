"""The Helm chart, rendered without helm (tests/deploy/helm_render.py, the chart's exact
template subset) and checked against what the proxy and the image really do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rerankit_proxy import parse_config
from rerankit_proxy.endpoints import ROUTES
from tests.deploy.helm_render import Renderer, Unsupported, documents

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "rerankit-proxy"


def render(values: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """kind -> the one rendered document of that kind."""
    docs = documents(Renderer(CHART, values, name="rr", namespace="search").render_all())
    kinds = [d["kind"] for d in docs]
    assert len(kinds) == len(set(kinds)), kinds
    return {d["kind"]: d for d in docs}


def container(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (proxy,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    return proxy


def env(docs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(docs)["env"]}


def test_default_values_render_deployment_service_and_configmap_only():
    assert sorted(render()) == ["ConfigMap", "Deployment", "Service"]


def test_probes_use_the_proxys_public_health_routes():
    proxy = container(render())
    for probe, route in (
        ("livenessProbe", "health_liveliness"),
        ("readinessProbe", "health_readiness"),
    ):
        path = proxy[probe]["httpGet"]["path"]
        assert ROUTES[path].name == route
        assert ROUTES[path].access == "public"  # the kubelet sends no key
        assert proxy[probe]["httpGet"]["port"] == "http"


def test_ports_line_up_from_service_to_container():
    docs = render()
    (port,) = container(docs)["ports"]
    assert port == {"name": "http", "containerPort": 4000, "protocol": "TCP"}
    assert env(docs)["PORT"] == "4000"  # what the proxy listens on
    assert env(docs)["HOST"] == "0.0.0.0"
    (service_port,) = docs["Service"]["spec"]["ports"]
    assert service_port["targetPort"] == "http" and service_port["port"] == 4000
    pod_labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert docs["Service"]["spec"]["selector"] == pod_labels
    assert docs["Deployment"]["spec"]["selector"]["matchLabels"] == pod_labels


def test_master_key_comes_from_the_existing_secret():
    docs = render({"masterKey": {"existingSecret": "my-keys", "key": "proxy"}})
    assert env(docs)["RERANKIT_MASTER_KEY"] == {"secretKeyRef": {"name": "my-keys", "key": "proxy"}}
    assert "master_key" not in docs["ConfigMap"]["data"]["config.yaml"]


def test_config_map_is_mounted_where_rerankit_config_points_and_is_a_valid_config():
    docs = render()
    mounts = {m["name"]: m for m in container(docs)["volumeMounts"]}
    volumes = {v["name"]: v for v in docs["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["config"]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    assert mounts["config"]["readOnly"] is True
    path = Path(mounts["config"]["mountPath"]) / "config.yaml"
    assert env(docs)["RERANKIT_CONFIG"] == str(path)
    text = docs["ConfigMap"]["data"][path.name]
    config = parse_config(
        yaml.safe_load(text), source="configmap", environ={"NVIDIA_NIM_API_KEY": "nvapi-x"}
    )
    assert config.model_names() == ["nvidia-rerank"]


def test_pods_run_as_the_images_non_root_user_read_only():
    docs = render()
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"USER {pod['securityContext']['runAsUser']}:" in dockerfile
    security = container(docs)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    # a writable /tmp for what Python and multiprocessing need
    assert {"name": "tmp", "mountPath": "/tmp"} in container(docs)["volumeMounts"]
    assert pod["automountServiceAccountToken"] is False


def test_settings_reach_the_environment():
    docs = render(
        {
            "workers": 3,
            "logLevel": "debug",
            "redisUrl": "redis://redis:6379/0",
            "extraEnv": [
                {
                    "name": "NVIDIA_NIM_API_KEY",
                    "valueFrom": {"secretKeyRef": {"name": "n", "key": "k"}},
                }
            ],
            "image": {"repository": "registry.example/rerankit", "tag": "1.2.3"},
            "resources": {"limits": {"memory": "1Gi"}},
        }
    )
    variables = env(docs)
    assert variables["RERANKIT_WORKERS"] == "3"
    assert variables["RERANKIT_LOG_LEVEL"] == "debug"
    assert variables["RERANKIT_LOG_FORMAT"] == "json"
    assert variables["RERANKIT_REDIS_URL"] == "redis://redis:6379/0"
    assert variables["NVIDIA_NIM_API_KEY"] == {"secretKeyRef": {"name": "n", "key": "k"}}
    assert container(docs)["image"] == "registry.example/rerankit:1.2.3"
    # values merge into the defaults, as helm merges them
    assert container(docs)["resources"] == {
        "limits": {"memory": "1Gi"},
        "requests": {"cpu": "250m", "memory": "256Mi"},
    }
    assert "RERANKIT_REDIS_URL" not in env(render())
    assert container(render())["image"] == "rerankit-proxy:0.2.0"  # the chart's appVersion


def test_autoscaling_replaces_the_fixed_replica_count():
    assert render()["Deployment"]["spec"]["replicas"] == 2
    docs = render({"autoscaling": {"enabled": True, "maxReplicas": 6}})
    assert "replicas" not in docs["Deployment"]["spec"]
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_service_monitor_is_off_by_default_and_scrapes_with_the_master_key():
    docs = render({"serviceMonitor": {"enabled": True}})
    (endpoint,) = docs["ServiceMonitor"]["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics" and ROUTES["/metrics"].name == "metrics"
    assert endpoint["port"] == "http"
    assert endpoint["authorization"]["credentials"] == {
        "name": "rerankit-proxy-master-key",
        "key": "master-key",
    }
    selector = docs["ServiceMonitor"]["spec"]["selector"]["matchLabels"]
    service_labels = docs["Service"]["metadata"]["labels"]
    assert selector.items() <= service_labels.items()


def test_a_config_change_rolls_the_pods():
    def checksum(values: dict[str, Any] | None = None) -> str:
        template = render(values)["Deployment"]["spec"]["template"]
        return template["metadata"]["annotations"]["checksum/config"]

    assert checksum() == checksum()
    assert checksum() != checksum({"config": "model_list: []\n"})


def test_the_renderer_refuses_what_it_does_not_implement():
    renderer = Renderer(CHART)
    for template in (
        '{{ include "x" . }}',
        "{{ range .Values.a }}{{ end }}",
        "{{ .Values.x | upper }}",
    ):
        with pytest.raises(Unsupported):
            renderer.render(template)
    # and implements what it claims the way Go and sprig do
    assert renderer.render("a\n  {{- .Chart.Name }} {{ 2 -}}\n b") == "arerankit-proxy 2b"
    assert renderer.render('{{ "x\\ny" | nindent 2 }}') == "\n  x\n  y"
    assert renderer.render("{{ .Values.service.port | quote }}") == '"4000"'
