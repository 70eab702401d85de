"""Requests carrying a NUL byte are refused with 400 before anything looks at them.

PostgreSQL refuses NUL in text, so a NUL in a search parameter, a path segment or a form field
used to surface as a database error (500) wherever it reached a query. One check here instead
of one per view: the path, cookies and headers, every query parameter (names and values) and
every field of a form-encoded or multipart POST body (uploaded files are not inspected: they are
bytes). The session engine (portal.sessions) also refuses such a session key, for websockets.
"""

from django.conf import settings
from django.shortcuts import render
from django.utils import translation

NUL = "\x00"


def _has_nul(query_dict) -> bool:
    return any(
        NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists()
    )


def request_has_nul(request) -> bool:
    if NUL in request.path_info or NUL in request.path:
        return True
    # Headers and cookies (Python's cookie parser decodes "\000" inside quotes into a NUL).
    if any(NUL in name or NUL in value for name, value in request.COOKIES.items()):
        return True
    if any(
        NUL in value
        for name, value in request.META.items()
        if name.startswith("HTTP_") and isinstance(value, str)
    ):
        return True
    if "%00" in request.META.get("QUERY_STRING", "") or _has_nul(request.GET):
        return True
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return _has_nul(request.POST)
    return False


def bad_request_page(request, message: str | None = None):
    """The translated 400 page (the language middleware may not have run yet: choose the
    language as accounts.middleware.LanguageMiddleware does)."""
    language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    translation.activate(language)
    request.LANGUAGE_CODE = language
    response = render(request, "400.html", {"message": message}, status=400)
    response.headers.setdefault("Content-Language", language)
    return response


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request_has_nul(request):
            return bad_request_page(request)
        return self.get_response(request)
