"""`tenure links make`: a signed page link made locally, with an optional way back checked as
the API's portal links check theirs."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tenure.notify.link_tokens import LinkClaims, LinkPurpose, verify
from tenure_local.cli.main import app

KEY = "cli-links-key"


def make(*args: str) -> Result:
    options = ("--customer", "alice", "--purpose", "update_card", "--subject", "alice")
    return CliRunner().invoke(
        app, ["links", "make", *options, *args], env={"TENURE_LINK_SECRET": KEY}
    )


def claims_of(output: str) -> LinkClaims:
    (token,) = parse_qs(urlsplit(output.strip()).query)["t"]
    return verify(KEY.encode(), token, LinkPurpose.UPDATE_CARD, datetime.now(UTC))


def test_a_link_made_with_a_return_url_carries_it_signed() -> None:
    made = make("--base-url", "https://billing.example.com", "--return-url", "https://app.example/")

    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("https://billing.example.com/pages/card?t=")
    claims = claims_of(made.stdout)
    assert claims.return_url == "https://app.example/"
    assert claims.expires_at - datetime.now(UTC) > timedelta(days=13)


def test_loopback_http_is_a_way_back_only_for_pages_served_locally() -> None:
    local = make("--base-url", "http://127.0.0.1:3000", "--return-url", "http://localhost:8000/")
    deployed = make(
        "--base-url", "https://billing.example.com", "--return-url", "http://localhost:8000/"
    )

    assert local.exit_code == 0, local.output
    assert claims_of(local.stdout).return_url == "http://localhost:8000/"
    assert deployed.exit_code == 2


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://app.example/", "must be https"),
        ("https://user:pw@app.example/", "without user info"),
        ("https://app.example/" + "a" * 2000, "at most 2000 characters"),
        ("https://app.example/a b", "printable ASCII"),
    ],
)
def test_a_bad_return_url_exits_2_saying_why_and_prints_no_link(url: str, why: str) -> None:
    made = make("--base-url", "https://billing.example.com", "--return-url", url)

    assert made.exit_code == 2
    assert made.stdout == ""
    assert why in made.stderr and "no link was made" in made.stderr


def made_with(*args: str) -> Result:
    return CliRunner().invoke(app, ["links", "make", *args], env={"TENURE_LINK_SECRET": KEY})


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("--base-url", "javascript:alert(1)"), "--base-url 'javascript:alert(1)' must be an"),
        (("--base-url", "not a url"), "must be an http(s) URL with a host"),
        (("--base-url", "https://"), "must be an http(s) URL with a host"),
    ],
)
def test_a_base_url_that_is_not_a_web_address_exits_2_and_prints_no_link(
    args: tuple[str, ...], why: str
) -> None:
    done = make(*args)

    assert done.exit_code == 2 and done.stdout == ""
    assert why in " ".join(done.stderr.split()) and "no link was made" in done.stderr


@pytest.mark.parametrize(
    ("customer", "subject", "why"),
    [
        ("", "alice", "--customer '' is not a customer id"),
        ("a b", "alice", "--customer 'a b' is not a customer id"),
        ("alice", "", "--subject '' is not an invoice or subscription id"),
        ("alice", "in 1", "--subject 'in 1' is not an invoice or subscription id"),
    ],
)
def test_an_id_that_cannot_be_one_exits_2_and_prints_no_link(
    customer: str, subject: str, why: str
) -> None:
    done = made_with("--customer", customer, "--purpose", "update_card", "--subject", subject)

    assert done.exit_code == 2 and done.stdout == "" and why in " ".join(done.stderr.split())


def test_a_lifetime_past_any_date_is_a_usage_error_not_a_traceback() -> None:
    done = make("--ttl-days", "100000000")

    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    assert done.exit_code == 2 and done.stdout == ""
    assert "--ttl-days" in done.output and "Traceback" not in done.output


def test_a_long_invoice_id_is_a_subject() -> None:
    subject = "in_sub-a-customer-with-a-long-name_renewal_20260131T090000Z"
    done = made_with("--customer", "alice", "--purpose", "update_card", "--subject", subject)

    assert done.exit_code == 0, done.output
    assert claims_of(done.stdout).subject == subject
