"""The domain stays pure: importing it pulls in no AWS, Stripe or Powertools code."""

import json
import subprocess
import sys

import pytest

FORBIDDEN = ("boto3", "botocore", "stripe", "aws_lambda_powertools")
OUTER_RINGS = (
    "tenure.services",
    "tenure.store",
    "tenure.payments",
    "tenure.notify",
    "tenure.ports",
    "tenure.fakes",
    "tenure.bootstrap",
    "tenure.settings",
)

# Runs in a fresh interpreter so nothing imported by other tests can hide or fake a leak.
PROBE = """
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
import tenure.domain
domain = [m.name for m in pkgutil.walk_packages(tenure.domain.__path__, "tenure.domain.")]
for name in domain:
    importlib.import_module(name)
print(json.dumps({"domain": domain, "loaded": sorted(sys.modules)}))
"""


def imports_after_loading_the_domain(*also: str) -> tuple[list[str], set[str]]:
    """(the domain modules imported, every module loaded) in a fresh subprocess."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *also], capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    return report["domain"], set(report["loaded"])


def leaks(loaded: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == r or m.startswith(r + ".") for r in roots))


@pytest.fixture(scope="module")
def domain_import() -> tuple[list[str], set[str]]:
    return imports_after_loading_the_domain()


def test_the_probe_imports_every_module_of_the_domain(
    domain_import: tuple[list[str], set[str]],
) -> None:
    domain, loaded = domain_import
    expected = {
        "tenure.domain.calendar",
        "tenure.domain.customers",
        "tenure.domain.errors",
        "tenure.domain.events",
        "tenure.domain.ids",
        "tenure.domain.invoices",
        "tenure.domain.money",
        "tenure.domain.plans",
        "tenure.domain.subscription",
        "tenure.domain.timeutil",
    }
    assert expected <= set(domain)
    assert set(domain) <= loaded


def test_importing_the_domain_loads_no_aws_stripe_or_powertools_code(
    domain_import: tuple[list[str], set[str]],
) -> None:
    _, loaded = domain_import
    assert leaks(loaded, FORBIDDEN) == []


def test_importing_the_domain_loads_none_of_tenures_outer_rings(
    domain_import: tuple[list[str], set[str]],
) -> None:
    _, loaded = domain_import
    assert leaks(loaded, OUTER_RINGS) == []


def test_the_probe_would_notice_a_forbidden_import() -> None:
    _, loaded = imports_after_loading_the_domain("boto3")
    assert "boto3" in leaks(loaded, FORBIDDEN)
    assert "botocore" in leaks(loaded, FORBIDDEN)
