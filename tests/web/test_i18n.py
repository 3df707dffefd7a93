"""The pages speak Japanese unless the user picks English, and the English catalogue is complete."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.web import form_render
from app.web.filters import jst_date
from tests.web.support import csrf_from, log_in

ROOT = Path(__file__).parent.parent.parent
APP = ROOT / "app"
CATALOGUE = APP / "translations" / "en" / "LC_MESSAGES"
ONE_YEAR = 365 * 24 * 60 * 60


@pytest.fixture
def web(client: FlaskClient, demo: None) -> FlaskClient:
    po, mo = CATALOGUE / "messages.po", CATALOGUE / "messages.mo"
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        pytest.fail("the English catalogue is not compiled: run `make install`")
    return client


def choose(web: FlaskClient, language: str, on: str = "/login") -> TestResponse:
    """Press the language switch in the header of the page at ``on``."""
    token = csrf_from(web.get(on))
    return web.post("/language", data={"csrf_token": token, "lang": language, "next": on})


def html_of(web: FlaskClient, path: str) -> str:
    page = web.get(path)
    assert page.status_code == 200, path
    return page.get_data(as_text=True)


def test_pages_are_japanese_by_default_even_for_an_english_browser(web: FlaskClient) -> None:
    page = web.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    html = page.get_data(as_text=True)
    assert '<html lang="ja">' in html
    assert "<title>ログイン | 重ね Kasane</title>" in html
    assert '<label for="username">ユーザー名</label>' in html
    assert '<label for="password">パスワード</label>' in html
    assert 'name="lang" value="en" lang="en"' in html and ">English</button>" in html


def test_switching_to_english_changes_the_login_page_and_the_inbox(web: FlaskClient) -> None:
    switched = choose(web, "en")
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;")
    assert f"Max-Age={ONE_YEAR}" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    login = html_of(web, "/login")
    assert '<html lang="en">' in login
    assert "<title>Log in | 重ね Kasane</title>" in login
    assert '<label for="username">Username</label>' in login
    assert '<label for="password">Password</label>' in login
    assert "ユーザー名" not in login
    assert 'name="lang" value="ja" lang="ja"' in login and ">日本語</button>" in login

    # The choice is a cookie of its own, so logging in (which starts a new session) keeps it.
    assert log_in(web).status_code == 302
    inbox = html_of(web, "/inbox")
    assert '<html lang="en">' in inbox
    assert "<h1>Inbox</h1>" in inbox
    assert '<label for="q">Search by case number, title, name or kana</label>' in inbox
    assert ">All queues</a>" in inbox and ">Due date, soonest first</option>" in inbox
    assert "No tasks match." in inbox

    back = choose(web, "ja", on="/inbox?sort=newest")
    assert back.headers["Location"] == "/inbox?sort=newest"
    inbox = html_of(web, "/inbox")
    assert '<html lang="ja">' in inbox and "<h1>受信箱</h1>" in inbox


def test_messages_from_the_code_follow_the_language(web: FlaskClient) -> None:
    choose(web, "en")
    log_in(web)
    token = csrf_from(web.get("/inbox"))
    web.post("/logout", data={"csrf_token": token})
    assert "You have logged out." in html_of(web, "/login")

    missing = web.get("/no-such-page")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404
    assert "<title>Error 404 | 重ね Kasane</title>" in html and "Page not found." in html

    wrong = log_in(web, password="not-the-password")
    assert wrong.status_code == 401
    assert "The username or password is incorrect." in wrong.get_data(as_text=True)


def test_the_switch_needs_a_csrf_token(web: FlaskClient) -> None:
    refused = web.post("/language", data={"lang": "en", "next": "/login"})
    assert refused.status_code == 400
    assert "Set-Cookie" not in refused.headers or "lang=" not in refused.headers["Set-Cookie"]
    assert '<html lang="ja">' in html_of(web, "/login")


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example/", "javascript:alert(1)"],
)
def test_the_switch_does_not_follow_a_next_off_this_site(web: FlaskClient, target: str) -> None:
    token = csrf_from(web.get("/login"))
    switched = web.post("/language", data={"csrf_token": token, "lang": "en", "next": target})
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/"
    assert switched.headers["Set-Cookie"].startswith("lang=en;")


def test_only_languages_we_have_can_be_chosen(web: FlaskClient) -> None:
    token = csrf_from(web.get("/login"))
    refused = web.post("/language", data={"csrf_token": token, "lang": "fr", "next": "/login"})
    assert refused.status_code == 400
    web.set_cookie("lang", "fr")
    assert '<html lang="ja">' in html_of(web, "/login")


def test_dates_and_the_form_renderers_words_follow_the_language(ctx: Flask) -> None:
    schema = {
        "type": "object",
        "required": ["consent"],
        "properties": {
            "consent": {"type": "boolean", "title": "本人同意"},
            "address": {"type": "string", "title": "住所", "x-sensitivity": "X"},
        },
    }
    shown = {}
    for cookie in ("", "lang=en"):
        # A fresh app context per request, as on a server: Flask-Babel keeps the locale in ``g``.
        with ctx.app_context(), ctx.test_request_context("/", headers={"Cookie": cookie}):
            consent, address = form_render.fields(schema, {}, {})
            shown[cookie] = (jst_date(date(2026, 4, 6)), consent.options, address.badge)
    assert shown[""] == ("2026年4月6日", (("true", "はい"), ("false", "いいえ")), "取扱注意")
    assert shown["lang=en"] == ("April 6, 2026", (("true", "Yes"), ("false", "No")), "Restricted")


def _marked_strings() -> set[tuple[str | None, str]]:
    """(context, msgid) of every string babel.cfg extracts, as `make messages` would find them."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None},
        directory_filter=lambda path: Path(path).is_relative_to(APP),
    )
    return {
        (context, message if isinstance(message, str) else message[0])
        for _file, _line, message, _comments, context in found
    }


def test_every_marked_string_has_an_english_translation() -> None:
    marked = _marked_strings()
    assert (None, "受信箱") in marked and (None, "ページが見つかりません。") in marked
    with (CATALOGUE / "messages.po").open("rb") as po:
        catalogue = read_po(po, locale="en")
    entries = {(m.context, m.id): m for m in catalogue if m.id}

    missing = sorted(marked - entries.keys(), key=str)
    assert not missing, f"not in the .po (run `make messages` and translate): {missing}"
    stale = sorted(entries.keys() - marked, key=str)
    assert not stale, f"in the .po but no longer in the code (run `make messages`): {stale}"
    forms = {
        key: m.string if isinstance(m.string, tuple) else (m.string,) for key, m in entries.items()
    }
    empty = [key for key, strings in forms.items() if not all(s.strip() for s in strings)]
    assert not empty, f"no English yet: {empty}"
    assert not [key for key, m in entries.items() if m.fuzzy], "fuzzy entries are not used"
    assert not catalogue.fuzzy and not catalogue.obsolete
    problems = [(m.id, str(e)) for m, errors in catalogue.check() for e in errors]
    assert not problems, problems


# What templates may show in Japanese whatever the language: the product's name and the switch's
# own label, and the full-width brackets around screen-reader text in the repeat buttons.
KEPT = ("重ね", "日本語", "（", "）")
JAPANESE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")
MARKED = re.compile(r"""(?:_|gettext|pgettext)\((?:'[^']*',\s*)?'[^']*'|\{#.*?#\}""", re.S)


def test_templates_have_no_japanese_left_outside_gettext() -> None:
    left = {}
    for template in sorted((APP / "templates").rglob("*.html")):
        text = MARKED.sub("", template.read_text(encoding="utf-8"))
        for kept in KEPT:
            text = text.replace(kept, "")
        if found := JAPANESE.findall(text):
            left[str(template.relative_to(APP))] = "".join(found)
    assert not left, left


def test_refusals_of_the_work_queue_follow_the_language(web: FlaskClient) -> None:
    choose(web, "en")
    log_in(web)
    missing = web.get("/tasks/999999")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "The task was not found." in html
    assert "見つかりません" not in html
