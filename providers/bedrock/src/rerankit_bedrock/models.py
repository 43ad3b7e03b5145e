"""Model strings: which Bedrock API a call uses and which model it names.

After the `bedrock/` prefix:

- `<model id>` (`amazon.rerank-v1:0`, `cohere.rerank-v3-5:0`): the Agent Runtime
  `Rerank` API, with the foundation-model ARN built from the region;
- `arn:aws:bedrock:<region>::foundation-model/<model id>` (any Bedrock model ARN): the
  `Rerank` API with that ARN; its region is the call's region;
- `invoke/<model id or ARN>`: the Runtime `InvokeModel` API with Cohere's rerank body,
  for Cohere's models (`invoke/cohere.rerank-v3-5:0`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rerankit.errors import InvalidModelError

__all__ = ["INVOKE_PREFIX", "ModelRef", "foundation_model_arn", "host_suffix", "parse_model"]

#: The model-string selector of the InvokeModel route.
INVOKE_PREFIX = "invoke/"

#: A Bedrock model id: `provider.name-version:n` (letters, digits, `.`, `-`, `_`, `:`).
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")
#: A Bedrock ARN: partition, service, region (may be empty), account (may be empty), resource.
_ARN = re.compile(
    r"arn:(?P<partition>aws(-[a-z]+)*):bedrock:(?P<region>[a-z0-9-]*):(\d{12})?:"
    r"(?P<resource>[A-Za-z0-9-]+/[A-Za-z0-9._:/+-]{1,1024})"
)


@dataclass(frozen=True, slots=True)
class ModelRef:
    """What a model string names: the API, and a model id or a full ARN."""

    api: Literal["rerank", "invoke"]
    model_id: str | None = None
    arn: str | None = None
    arn_region: str | None = None

    @property
    def target(self) -> str:
        """The model id or the ARN, as given."""
        return self.arn or self.model_id or ""


def parse_model(model: str, full_model: str) -> ModelRef:
    """The `ModelRef` for `model` (the part after the prefix); `InvalidModelError` if bad."""
    api: Literal["rerank", "invoke"] = "rerank"
    if model.startswith(INVOKE_PREFIX):
        api, model = "invoke", model.removeprefix(INVOKE_PREFIX)
    if model.startswith("arn:"):
        found = _ARN.fullmatch(model)
        if found is None:
            raise InvalidModelError(
                f"Model {full_model!r} is not a Bedrock model ARN such as "
                f"'arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0'."
            )
        return ModelRef(api, arn=model, arn_region=found["region"] or None)
    if not _MODEL_ID.fullmatch(model):
        raise InvalidModelError(
            f"Model {full_model!r} names no Bedrock model id: use e.g. "
            f"'bedrock/amazon.rerank-v1:0', 'bedrock/cohere.rerank-v3-5:0' or "
            f"'bedrock/invoke/cohere.rerank-v3-5:0'."
        )
    if api == "invoke" and not model.startswith("cohere."):
        raise InvalidModelError(
            f"Model {full_model!r}: the InvokeModel route sends Cohere's rerank body, so it "
            f"takes Cohere models ('bedrock/invoke/cohere.rerank-v3-5:0') or an ARN; use "
            f"'bedrock/{model}' for the Rerank API."
        )
    return ModelRef(api, model_id=model)


def partition(region: str) -> str:
    """The AWS partition of `region`."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def host_suffix(region: str) -> str:
    """The DNS suffix of AWS endpoints in `region`."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def foundation_model_arn(model_id: str, region: str) -> str:
    """`arn:<partition>:bedrock:<region>::foundation-model/<model id>`."""
    return f"arn:{partition(region)}:bedrock:{region}::foundation-model/{model_id}"
