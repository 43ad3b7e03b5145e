"""CORS: off by default; allowed and refused origins, methods and headers; preflights
answered without a key. The real proxy, with the headers a browser sends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rerankit_proxy import ProxyConfigError, parse_config
from tests.proxy.conftest import MASTER, ProxyProcess

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
BODY = {"model": "bm25", "query": "memory", "documents": ["cats", "memory"]}
AUTH = {"Authorization": f"Bearer {MASTER}"}


def config(cors: dict | None) -> dict:
    general: dict = {"master_key": MASTER}
    if cors is not None:
        general["cors"] = cors
    return {
        "model_list": [{"model_name": "bm25", "params": {"model": "local/bm25"}}],
        "general_settings": general,
    }


@pytest.fixture(scope="module")
def cors_proxy(tmp_path_factory) -> Iterator[ProxyProcess]:
    cors = {
        "allow_origins": [APP, "http://localhost:3000"],
        "allow_credentials": True,
        "max_age": 120,
    }
    process = ProxyProcess(
        tmp_path_factory.mktemp("cors"), config(cors), env={"RERANKIT_LOAD_PLUGINS": "local,proxy"}
    )
    try:
        yield process.wait_ready()
    finally:
        process.stop()


def preflight(url: str, origin: str, method: str = "POST", headers: str = "") -> httpx.Response:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        sent["Access-Control-Request-Headers"] = headers
    return httpx.options(f"{url}/v2/rerank", headers=sent)


def test_preflight_from_an_allowed_origin_is_answered_without_a_key(cors_proxy):
    r = preflight(cors_proxy.url, APP, headers="authorization, content-type")
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == APP
    assert r.headers["access-control-allow-methods"] == "GET, POST"
    assert r.headers["access-control-allow-headers"] == "authorization, content-type"
    assert r.headers["access-control-max-age"] == "120"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["vary"] == "origin"
    assert r.headers["x-request-id"]


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        (EVIL, "POST", "content-type"),  # origin not listed
        ("https://app.example.com.evil.net", "POST", ""),  # a prefix is not a match
        ("http://app.example.com", "POST", ""),  # another scheme is another origin
        (APP, "DELETE", ""),  # method not allowed
        (APP, "POST", "content-type, x-secret"),  # header not allowed
        (APP, "POST", "x(y)"),  # not a header name
    ],
)
def test_preflight_refused(cors_proxy, origin, method, headers):
    r = preflight(cors_proxy.url, origin, method, headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "cors_not_allowed"
    assert "access-control-allow-origin" not in r.headers


def test_answers_to_an_allowed_origin_are_readable_by_the_page(cors_proxy):
    r = httpx.post(f"{cors_proxy.url}/v2/rerank", json=BODY, headers={**AUTH, "Origin": APP})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in r.headers["access-control-expose-headers"]
    assert r.headers["access-control-allow-credentials"] == "true"
    # errors too, so the page can show what went wrong
    r = httpx.post(f"{cors_proxy.url}/v2/rerank", json=BODY, headers={"Origin": APP})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == APP


def test_answers_to_another_origin_have_no_cors_headers(cors_proxy):
    r = httpx.post(f"{cors_proxy.url}/v2/rerank", json=BODY, headers={**AUTH, "Origin": EVIL})
    assert r.status_code == 200  # the browser, not the proxy, withholds it from the page
    assert not [h for h in r.headers if h.startswith("access-control-")]


def test_cors_is_off_by_default(proxy):
    r = preflight(proxy.url, APP)
    assert r.status_code == 405  # OPTIONS is no route of the proxy
    assert "access-control-allow-origin" not in r.headers
    r = httpx.get(f"{proxy.url}/health/liveliness", headers={"Origin": APP})
    assert "access-control-allow-origin" not in r.headers


def test_any_origin_without_credentials(tmp_path):
    cors = {"allow_origins": ["*"], "allow_headers": ["*"]}
    process = ProxyProcess(tmp_path, config(cors), env={"RERANKIT_LOAD_PLUGINS": "local,proxy"})
    try:
        process.wait_ready()
        r = preflight(process.url, EVIL, headers="authorization, x-custom")
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["access-control-allow-headers"] == "authorization, x-custom"
        assert "access-control-allow-credentials" not in r.headers
        assert "vary" not in r.headers
        # "*" allows any header name, but only header names, and not too many
        assert preflight(process.url, EVIL, headers="ok, x(y)").status_code == 403
        many = ", ".join(f"h{n}" for n in range(65))
        assert preflight(process.url, EVIL, headers=many).status_code == 403
        assert preflight(process.url, EVIL, headers=many[: many.index(", h64")]).status_code == 204
        r = httpx.post(f"{process.url}/v2/rerank", json=BODY, headers={**AUTH, "Origin": EVIL})
        assert r.headers["access-control-allow-origin"] == "*"
    finally:
        process.stop()


@pytest.mark.parametrize(
    ("cors", "where", "says"),
    [
        ({"allow_origins": ["*"], "allow_credentials": True}, "allow_credentials", "cannot be"),
        ({"allow_origins": ["app.example.com"]}, "allow_origins", "not allowed here"),
        ({"allow_origins": ["https://a.example/path"]}, "allow_origins", "not allowed here"),
        ({"allow_origins": ["*", APP]}, "allow_origins", "only entry"),
        ({"allow_origins": []}, "allow_origins", "non-empty list"),
        ({"allow_methods": ["GET"]}, "allow_origins", "is required"),
        ({"allow_origins": [APP], "max_age": -1}, "max_age", "from 0 to 86400"),
        ({"allow_origins": [APP], "allow_credentials": "yes"}, "allow_credentials", "true or"),
        ({"allow_origins": [APP], "expose": ["x"]}, "expose", "not a known setting"),
    ],
)
def test_bad_cors_settings_stop_start_up(cors, where, says):
    with pytest.raises(ProxyConfigError) as caught:
        parse_config(config(cors), source="c.yaml")
    assert f"c.yaml: general_settings.cors.{where}" in str(caught.value)
    assert says in str(caught.value)
