"""`tenure emails preview` as a user runs it, and the previews in a real headless browser."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.domain.notices import NoticeKind
from tenure_local.browser import chromium_path, headless_chromium
from tenure_local.cli.emails import screenshot, write_previews
from tenure_local.cli.main import app

REPO = Path(__file__).resolve().parents[2]
LOCALES = ("en", "ru", "ar")


def test_preview_all_kinds_in_all_locales_writes_html_and_text_and_prints_the_paths(
    tmp_path: Path,
) -> None:
    out = tmp_path / "emails"
    result = CliRunner().invoke(
        app, ["emails", "preview", "all", "--locale", "all", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    expected = {
        out / f"{kind}.{locale}{suffix}"
        for kind in NoticeKind
        for locale in LOCALES
        for suffix in (".html", ".txt")
    }
    assert set(out.iterdir()) == expected
    assert {Path(line) for line in result.stdout.splitlines()} == expected
    ar = (out / "upcoming_renewal.ar.html").read_text(encoding="utf-8")
    assert '<html lang="ar" dir="rtl">' in ar
    assert "Zoë Ångström" in (out / "receipt.ru.txt").read_text(encoding="utf-8")


def test_preview_one_kind_in_one_locale_writes_two_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["emails", "preview", "card_expiring", "--locale", "ru", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "card_expiring.ru.html",
        "card_expiring.ru.txt",
    ]


def test_an_unknown_kind_exits_2_naming_the_kinds_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "emails"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tenure_local.cli.main",
            "emails",
            "preview",
            "renewal",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ | {"COLUMNS": "200"},
        timeout=120,
    )
    assert done.returncode == 2
    message = done.stderr.strip()
    assert "\n" not in message
    assert "unknown kind 'renewal'" in message
    assert all(str(kind) in message for kind in NoticeKind)
    assert done.stdout == ""
    assert not out.exists()


def test_an_unknown_locale_exits_2_naming_the_locales_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "emails"
    result = CliRunner().invoke(
        app, ["emails", "preview", "receipt", "--locale", "de", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "unknown locale 'de'; one of: all, en, ru, ar" in result.stderr
    assert not out.exists()


def test_the_arabic_preview_is_right_to_left_in_chromium_and_both_screenshot(
    tmp_path: Path,
) -> None:
    assert chromium_path(), "install Debian's chromium: apt-get install -y chromium"
    pages = [
        path
        for path in write_previews(["upcoming_renewal"], ["en", "ar"], tmp_path / "emails")
        if path.suffix == ".html"
    ]
    seen: dict[str, dict[str, object]] = {}
    outside: list[str] = []
    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 720, "height": 900})
        page.on(
            "request",
            lambda r: None if r.url.startswith("file:") else outside.append(r.url),
        )
        for path in pages:
            page.goto(path.resolve().as_uri())
            seen[path.name] = page.evaluate(
                """() => {
                    const paragraphs = [...document.querySelectorAll('p')];
                    const button = document.querySelector('a[href*="/pages/card"]');
                    const card = button.closest('table[style*="max-width"]');
                    const b = button.getBoundingClientRect();
                    const c = card.getBoundingClientRect();
                    // Is every "US$" drawn with U left of $ (whole), not as "$US"?
                    const walker = document.createTreeWalker(document.body, 4);
                    const symbols = [];
                    while (walker.nextNode()) {
                        const node = walker.currentNode;
                        const i = node.data.indexOf('US$');
                        if (i < 0) continue;
                        const left = k => {
                            const r = document.createRange();
                            r.setStart(node, k);
                            r.setEnd(node, k + 1);
                            return r.getBoundingClientRect().left;
                        };
                        symbols.push(left(i) < left(i + 2));
                    }
                    return {
                        symbolsWhole: symbols,
                        dir: document.documentElement.dir,
                        bodyAlign: getComputedStyle(document.body).textAlign,
                        bodyDirection: getComputedStyle(document.body).direction,
                        paragraphAligns: [...new Set(
                            paragraphs.map(el => getComputedStyle(el).textAlign))],
                        buttonCenter: (b.left + b.right) / 2,
                        cardCenter: (c.left + c.right) / 2,
                    };
                }"""
            )
    ar, en = seen["upcoming_renewal.ar.html"], seen["upcoming_renewal.en.html"]
    assert ar["dir"] == "rtl" and ar["bodyDirection"] == "rtl"
    assert ar["bodyAlign"] == "right" and ar["paragraphAligns"] == ["right"]
    assert ar["buttonCenter"] > ar["cardCenter"]  # the button sits on the right
    assert en["dir"] == "ltr" and en["bodyAlign"] == "left"
    assert en["paragraphAligns"] == ["left"]
    assert en["buttonCenter"] < en["cardCenter"]
    assert ar["symbolsWhole"] and all(ar["symbolsWhole"])  # the intro and the four summary rows
    assert outside == []  # an email must render with no network

    pngs = screenshot(pages, tmp_path / "png")
    assert [p.name for p in pngs] == ["upcoming_renewal.en.png", "upcoming_renewal.ar.png"]
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 20_000  # a rendered page, not a blank one


# -- previews of real invoices, under the one brand name --------------------------------------
def _state() -> dict[str, object]:
    """A `tenure simulate` state.json in miniature: Ken in Tokyo paid his first month (and
    was refunded), Lena's card was declined, Omar's bank asked for a confirmation."""

    def invoice(who: str, plan: str, start: str, end: str, **more: object) -> dict[str, object]:
        return {
            "id": f"in_sub-{who}_first_{start[:4]}",
            "subscription": f"sub-{who}",
            "customer": who,
            "kind": "first",
            "period_start": start,
            "period_end": end,
            "created_at": start,
            "currency": "USD",
            "lines": [{"kind": "plan", "amount": 1000, "description": f"{plan} ({start} – {end})"}],
            "status": "open",
            "paid_at": None,
            "amount_refunded": 0,
            "total": 1000,
        } | more

    return {
        "customers": [
            {"id": who, "name": name, "email": f"{who}@example.com", "timezone": zone}
            for who, name, zone in (
                ("ken", "Ken Sato", "Asia/Tokyo"),
                ("lena", "Lena Ivanova", "America/Los_Angeles"),
                ("omar", "Omar Khalid", "Asia/Riyadh"),
            )
        ],
        "invoices": [
            invoice(
                "ken",
                "Basic",
                "2026-03-31T16:00:00Z",
                "2026-04-30T16:00:00Z",
                status="paid",
                paid_at="2026-03-31T16:00:00Z",
                amount_refunded=400,
            ),
            invoice("lena", "Pro", "2026-04-01T03:00:00Z", "2026-05-01T03:00:00Z"),
            invoice("omar", "Basic", "2026-02-02T10:00:00Z", "2026-03-02T10:00:00Z"),
        ],
        "charges": [
            {"invoice": "in_sub-lena_first_2026", "outcome": "declined"},
            {"invoice": "in_sub-omar_first_2026", "outcome": "authentication_required"},
        ],
        "subscriptions": [],
    }


def _preview_from(tmp_path: Path, *args: str) -> tuple[object, Path]:
    run = tmp_path / "run"
    run.mkdir()
    (run / "state.json").write_text(json.dumps(_state()), encoding="utf-8")
    out = tmp_path / "emails"
    result = CliRunner().invoke(
        app, ["emails", "preview", *args, "--from", str(run), "--out", str(out)]
    )
    return result, out


def test_previews_from_a_simulation_show_its_real_invoices_in_every_locale(tmp_path: Path) -> None:
    result, out = _preview_from(tmp_path, "all", "--locale", "all")
    assert result.exit_code == 0, result.output
    receipt = (out / "receipt.en.txt").read_text(encoding="utf-8")
    # Paid at 16:00 UTC on March 31: April 1 in Ken's Tokyo.
    assert "Hello Ken Sato," in receipt
    assert "Invoice: Basic, April 1\u2009–\u2009April 30, 2026" not in receipt
    assert "Invoice: Basic, April 1\u2009–\u2009May 1, 2026" in receipt
    assert "Счёт: Basic, 1 апреля — 1 мая 2026" in (out / "receipt.ru.txt").read_text("utf-8")
    refund = (out / "refund_receipt.en.txt").read_text(encoding="utf-8")
    assert "We have refunded $4.00 of the $10.00 you paid for Basic, April 1" in refund
    assert "Lena Ivanova" in (out / "payment_failed.ar.txt").read_text(encoding="utf-8")
    assert "Omar Khalid" in (out / "payment_action_required.en.txt").read_text("utf-8")
    # Kinds the simulation has no example of fall back to the samples.
    assert "Zoë Ångström" in (out / "card_expiring.en.txt").read_text(encoding="utf-8")
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        shown = re.sub(r"https?://[^\s\"'<>]+", "", text)
        assert not re.search(r"\d{4}-\d{2}-\d{2}|\bin_\w+|\bsub-\w+", shown), path.name


def test_previews_from_a_folder_without_a_readable_state_exit_2_and_write_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "emails"
    missing = CliRunner().invoke(
        app, ["emails", "preview", "receipt", "--from", str(tmp_path), "--out", str(out)]
    )
    assert missing.exit_code == 2 and "state.json" in missing.output
    (tmp_path / "state.json").write_text('{"customers": []}', encoding="utf-8")
    broken = CliRunner().invoke(
        app, ["emails", "preview", "receipt", "--from", str(tmp_path), "--out", str(out)]
    )
    assert broken.exit_code == 2 and "not a `tenure simulate` state.json" in broken.output
    assert not out.exists()


def test_previews_name_the_business_by_the_setting_the_emails_and_pages_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setenv("TENURE_BUSINESS_NAME", "Lantern Tea Club")
    try:
        result = CliRunner().invoke(
            app, ["emails", "preview", "receipt", "--locale", "ar", "--out", str(tmp_path)]
        )
    finally:
        monkeypatch.undo()
    assert result.exit_code == 0, result.output
    assert "فريق Lantern Tea Club" in (tmp_path / "receipt.ar.txt").read_text(encoding="utf-8")
