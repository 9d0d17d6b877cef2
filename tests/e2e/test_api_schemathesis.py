"""`tenure serve` answers every HTTP method through the API, and schemathesis finds nothing
the API does not document (issue 13, item 10)."""

from collections.abc import Iterator

import pytest
import requests
from serve_process import serving

TOKEN = "schemathesis-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("serve-schemathesis")
    with serving(folder, {"TENURE_API_TOKEN": TOKEN}, ("--no-schedules",)) as (url, _):
        yield url


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "QUERY", "HEAD"])
def test_a_method_the_api_has_no_route_for_is_refused_by_the_api_not_the_server(
    base_url: str, method: str
) -> None:
    url = f"{base_url}/v1/customers/st-alice"
    anonymous = requests.request(method, url, timeout=10)
    assert anonymous.status_code == 401
    refused = requests.request(method, url, headers=AUTH, timeout=10)
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/json"
    if method == "HEAD":
        assert refused.content == b""  # the length of the body, but never the body
    else:
        assert refused.json()["error"] == "not_found"
