"""Read template.yaml so local tables are created from the deployed definition.

DynamoDB Local (and moto, where Java is missing) get their table from
``table_create_kwargs``, which translates the ``AWS::DynamoDB::Table`` resource
of template.yaml into boto3 ``create_table`` arguments. Change the table in
template.yaml and the local stack follows; there is no second copy to drift.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# CloudFormation short-form tags and the long form each expands to.
_SHORT_TAGS: dict[str, str] = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Select": "Fn::Select",
    "Join": "Fn::Join",
    "Not": "Fn::Not",
    "And": "Fn::And",
    "Or": "Fn::Or",
    "FindInMap": "Fn::FindInMap",
    "ImportValue": "Fn::ImportValue",
    "GetAZs": "Fn::GetAZs",
    "Split": "Fn::Split",
    "Base64": "Fn::Base64",
    "Cidr": "Fn::Cidr",
    "Transform": "Fn::Transform",
}


class _CloudFormationLoader(yaml.SafeLoader):
    """A safe YAML loader that understands CloudFormation's short-form tags."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    key = _SHORT_TAGS[tag_suffix]
    value: Any
    if isinstance(node, yaml.ScalarNode):
        scalar = loader.construct_scalar(node)
        # `!GetAtt Resource.Attribute` is shorthand for ["Resource", "Attribute"].
        value = scalar.split(".", 1) if key == "Fn::GetAtt" else scalar
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"bad !{tag_suffix}", node.start_mark)
    return {key: value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


# Templates parsed in this process, by path and the digest of their bytes: YAML's pure-Python
# loader took 0.3-0.7 s of CPU for template.yaml, and every simulation run (every engine's
# open) loads it. A file whose bytes changed is parsed again.
_PARSED: dict[tuple[str, bytes], dict[str, Any]] = {}


def load_template(path: Path | None = None) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template; short tags become long-form dicts. Each call
    returns its own copy (a caller may change it); the parse is done once per content."""
    where = path or TEMPLATE_PATH
    raw = where.read_bytes()
    key = (str(where.resolve()), hashlib.blake2b(raw, digest_size=16).digest())
    document = _PARSED.get(key)
    if document is None:
        document = yaml.load(raw.decode("utf-8"), Loader=_CloudFormationLoader)
        if not isinstance(document, dict):
            raise ValueError(f"{where} is not a CloudFormation template")
        _PARSED[key] = document
    return copy.deepcopy(document)


def _table_properties(template: dict[str, Any] | None, logical_id: str) -> dict[str, Any]:
    tpl = template if template is not None else load_template()
    resource = tpl.get("Resources", {}).get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::DynamoDB::Table":
        raise KeyError(f"{logical_id} is not an AWS::DynamoDB::Table in the template")
    properties = resource.get("Properties", {})
    if not isinstance(properties, dict):
        raise ValueError(f"{logical_id} has no Properties")
    return properties


def table_create_kwargs(
    table_name: str,
    template: dict[str, Any] | None = None,
    logical_id: str = "TenureTable",
) -> dict[str, Any]:
    """boto3 ``create_table`` arguments for the template's table, named ``table_name``.

    Always on-demand locally (no ProvisionedThroughput anywhere); the stream is
    kept when the template has one.
    """
    props = _table_properties(template, logical_id)
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": [_key(k) for k in props["KeySchema"]],
        "AttributeDefinitions": [
            {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
            for a in props["AttributeDefinitions"]
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {
            "IndexName": gsi["IndexName"],
            "KeySchema": [_key(k) for k in gsi["KeySchema"]],
            "Projection": _projection(gsi.get("Projection", {})),
        }
        for gsi in props.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        kwargs["GlobalSecondaryIndexes"] = indexes
    stream = props.get("StreamSpecification")
    if isinstance(stream, dict) and stream.get("StreamViewType"):
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return kwargs


def ttl_attribute(
    template: dict[str, Any] | None = None, logical_id: str = "TenureTable"
) -> str | None:
    """The table's TTL attribute name, or None when TTL is not enabled."""
    ttl = _table_properties(template, logical_id).get("TimeToLiveSpecification")
    if isinstance(ttl, dict) and ttl.get("Enabled") is True and ttl.get("AttributeName"):
        return str(ttl["AttributeName"])
    return None


def _key(element: dict[str, Any]) -> dict[str, str]:
    return {"AttributeName": element["AttributeName"], "KeyType": element["KeyType"]}


def _projection(projection: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"ProjectionType": projection.get("ProjectionType", "ALL")}
    if projection.get("NonKeyAttributes"):
        result["NonKeyAttributes"] = list(projection["NonKeyAttributes"])
    return result
