"""Where AWS settings come from: credentials, region and endpoint, the standard ways.

- Credentials: botocore's default chain (environment, shared credentials and config files
  with profiles, SSO, web identity, container and instance roles), loaded on first use
  and cached per profile; botocore refreshes temporary credentials before they expire.
- Region: `aws_region_name=`, the model ARN's region, the provider's own default,
  `AWS_REGION`, then botocore's (`AWS_DEFAULT_REGION`, the profile's `region`).
- Endpoint: `api_base=`, `AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME` /
  `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (per service), then `AWS_ENDPOINT_URL`, as the AWS
  SDKs read them (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns the variables off).

botocore is imported only here and only when credentials or a region are first needed,
so resolving the provider stays cheap. Loading credentials may do I/O (files, SSO, the
instance metadata service) once per profile and again only when they near expiry.
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING, Any

from rerankit.errors import ConfigurationError, InvalidParameterError

from .sigv4 import AwsCredentials

if TYPE_CHECKING:
    from botocore.session import Session

__all__ = [
    "CredentialChain",
    "ENDPOINT_ENV",
    "check_region",
    "configured_endpoint",
    "CREDENTIAL_ENV",
    "REGION_ENV",
]

#: Per-service endpoint variables, then the global one (the AWS SDKs' names).
ENDPOINT_ENV = {
    "bedrock-agent-runtime": ("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", "AWS_ENDPOINT_URL"),
    "bedrock-runtime": ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL"),
}
#: The variables of the credential chain's first link, and the profile selector.
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
#: Region variables, most specific first (botocore itself reads only the second).
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")

#: AWS region names: `us-west-2`, `us-gov-west-1`, `cn-north-1`, ... (they become a host name).
_REGION = re.compile(r"[a-z]{2}(-[a-z0-9]+){1,4}")


def check_region(region: str, source: str) -> str:
    """`region` if it looks like an AWS region name; else a typed error naming `source`."""
    if _REGION.fullmatch(region):
        return region
    message = f"{region!r} from {source} is not an AWS region name such as 'us-west-2'."
    if source.endswith("="):
        raise InvalidParameterError(message, parameter=source.rstrip("="))
    raise ConfigurationError(message)


def configured_endpoint(service: str) -> str | None:
    """The endpoint the environment configures for `service`, if any."""
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    for name in ENDPOINT_ENV[service]:
        value = os.environ.get(name)
        if value:
            return value
    return None


class CredentialChain:
    """botocore's default credential chain and region lookup, one session per profile."""

    def __init__(self) -> None:
        self._sessions: dict[str | None, Session] = {}
        self._lock = threading.Lock()

    def credentials(self, profile: str | None) -> AwsCredentials:
        """The current credentials of `profile` (None: `AWS_PROFILE` or the default)."""
        from botocore.exceptions import BotoCoreError

        try:
            found = self._session(profile).get_credentials()
            frozen = found.get_frozen_credentials() if found is not None else None
        except BotoCoreError as exc:
            raise ConfigurationError(
                f"Could not load AWS credentials{_for(profile)}: {exc}"
            ) from None
        if frozen is None or not frozen.access_key or not frozen.secret_key:
            raise ConfigurationError(
                f"No AWS credentials found{_for(profile)}. Set AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile of ~/.aws/config, SSO "
                f"included), or run where a role provides them (ECS, EC2, Lambda, EKS)."
            )
        return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token or None)

    def region(self, profile: str | None) -> str | None:
        """`AWS_REGION`, else botocore's region (`AWS_DEFAULT_REGION`, the profile's)."""
        from botocore.exceptions import BotoCoreError

        explicit = os.environ.get("AWS_REGION")
        if explicit:
            return check_region(explicit, "AWS_REGION")
        try:
            found: Any = self._session(profile).get_config_variable("region")
        except BotoCoreError as exc:
            raise ConfigurationError(
                f"Could not read the AWS region{_for(profile)}: {exc}"
            ) from None
        return check_region(found, f"the AWS config{_for(profile)}") if found else None

    def _session(self, profile: str | None) -> Session:
        with self._lock:
            session = self._sessions.get(profile)
            if session is None:
                from botocore.session import Session

                session = self._sessions[profile] = Session(profile=profile)
            return session


def _for(profile: str | None) -> str:
    return f" for profile {profile!r}" if profile else ""
