"""The language of the pages: Japanese unless the user chose English with the switch in the header.

Japanese is the source language of every msgid, so it needs no catalogue; English comes from
``app/translations/en``. The choice lives in a ``lang`` cookie, not in the session, so it survives
logging in and out. Accept-Language is ignored on purpose: the product is Japanese first, and
municipal PCs set up with an English browser must still show the Japanese screens staff are
trained on.
"""

from __future__ import annotations

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
from flask_babel import get_locale
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


def _template_globals() -> dict[str, str]:
    return {"current_locale": str(get_locale() or DEFAULT_LANGUAGE)}


def init_app(app: Flask) -> None:
    """Add the switch route and ``current_locale`` for ``<html lang>`` and the switch button."""
    app.register_blueprint(bp)
    app.context_processor(_template_globals)


def language() -> str:
    """The page's language code (``ja`` or ``en``), for content that is translated outside gettext."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE
