"""One brand name: the deployed stack hands every function the same `BusinessName`, and the
local default is the template's default, so emails, pages and previews agree."""

from tenure.settings import declared
from tenure_local.stack.template import load_template

TEMPLATE = load_template()


def test_every_function_reads_the_business_name_from_the_one_parameter() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TENURE_BUSINESS_NAME"] == {"Ref": "BusinessName"}
    for name, resource in TEMPLATE["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        own = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert "TENURE_BUSINESS_NAME" not in own, name  # no function names it otherwise


def test_the_local_default_name_is_the_templates_default() -> None:
    setting = declared()["business_name"]
    assert setting.alias == "TENURE_BUSINESS_NAME"
    assert TEMPLATE["Parameters"]["BusinessName"]["Default"] == setting.default
