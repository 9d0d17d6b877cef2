"""`tenure emails preview` as a user runs it, and the previews in a real headless browser."""

import os
import subprocess
import sys
from pathlib import Path

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
