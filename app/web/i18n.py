"""The language of the pages: Japanese unless the user chose English with the switch in the header.

Japanese is the source language of every msgid, so it needs no catalogue; English comes from
``app/translations/en``. The choice lives in a ``lang`` cookie, not in the session, so it survives
logging in and out. Accept-Language is ignored on purpose: the product is Japanese first, and
municipal PCs set up with an English browser must still show the Japanese screens staff are
trained on.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from werkzeug.wrappers import Response

from app.web.auth import safe_next

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 60 * 60

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The locale for this request: the ``lang`` cookie when it names a language we have, else ja."""
    if has_request_context():
        chosen = request.cookies.get(COOKIE, "")
        if chosen in LANGUAGES:
            return chosen
    return DEFAULT_LANGUAGE


@bp.post("/language")
def switch() -> Response:
    """Remember the chosen language for a year and go back to the page the switch was on."""
    language = request.form.get("lang", "")
    if language not in LANGUAGES:
        abort(400)
    response = redirect(safe_next(request.form.get("next")) or url_for("home.index"))
    response.set_cookie(
        COOKIE,
        language,
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )
    return response


def _template_globals() -> dict[str, Any]:
    return {
        "current_locale": str(get_locale() or DEFAULT_LANGUAGE),
        TRANSLATIONS: get_translations(),
    }


# The page's catalogue, looked up once per page (``_template_globals``): a list of a hundred rows
# asks for a few hundred strings, and looking the catalogue up for each one (request, locale,
# domain) cost several milliseconds a page. Templates rendered without it (a macro imported
# without context) look it up as before.
TRANSLATIONS = "_kasane_translations"


def _catalogue(context: Context) -> Any:
    found = context.get(TRANSLATIONS)
    return found if found is not None else get_translations()


@pass_context
def _gettext(context: Context, string: str) -> str:
    return _catalogue(context).ugettext(string)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _catalogue(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, message_context: str, string: str) -> str:
    return _catalogue(context).upgettext(message_context, string)


@pass_context
def _npgettext(context: Context, message_context: str, singular: str, plural: str, n: int) -> str:
    return _catalogue(context).unpgettext(message_context, singular, plural, n)


def init_app(app: Flask) -> None:
    """Add the switch route, ``current_locale`` for ``<html lang>`` and the switch button, and
    the page's catalogue for the templates' ``_()``."""
    app.register_blueprint(bp)
    app.context_processor(_template_globals)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext,
        ngettext=_ngettext,
        newstyle=True,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )


def language() -> str:
    """The page's language code (``ja`` or ``en``), for content that is translated outside gettext."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE
