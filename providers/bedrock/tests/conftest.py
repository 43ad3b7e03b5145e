"""Every Bedrock test runs in a sealed AWS environment: no real config, keys or metadata service.

botocore's credential chain would otherwise read ~/.aws, the developer's AWS_* variables,
and ask the EC2 instance metadata service (a network call off this machine).
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _sealed_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    empty = tmp_path_factory.mktemp("aws")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
