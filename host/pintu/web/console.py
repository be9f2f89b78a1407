"""What every console route shares: who asks (the session, the account, its sites), the checks before a route runs,
the templates, the worker threads' database connections, and the security headers.

Every route declares the roles that may use it; a route with {site} in its path also needs the account to answer
for that site. Anything else is 404, the same as a site that does not exist (nobody can probe which sites exist).
Not logged in: a redirect to /login. A POST without the session's form token: 403.
"""

import threading
import urllib.parse

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from pintu.data.datadir import DataDir, session_key
from pintu.errors import PintuError
from pintu.registry import users
from pintu.web import auth
from pintu.web.manual import ManualChecks
from pintu.web.messages import lang_of, text

PUBLIC = ()  # a route anyone may use (the login page, the language switch, the assets)
ANY = users.ROLES
DOOR = users.ROLES  # an office admin and a city admin may stand in for the guard
OFFICE = (users.CITY_ADMIN, users.OFFICE_ADMIN)
CITY = (users.CITY_ADMIN,)
MAX_BODY = 16 * 1024  # every form here is a few short fields
MAX_FIELDS = 20
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class Context:
    """Who asks, in which language, about which site; what a page shows about the session (flash messages)."""

    def __init__(self, console, request, session, user, lang, data, form):
        self.console, self.request, self.session, self.user = console, request, session, user
        self.lang, self.data, self.form = lang, data, form
        self.site = request.path_params.get("site")

    def t(self, key, **values):
        return text(self.lang, key, **values)

    def render(self, name, status=200, **values):
        values.update(t=self.t, user=self.user, request_path=self.request.url.path, lang=self.lang,
                      csrf=self.session["c"] if self.session else "",
                      nav=self.console.nav(self.data, self.user) if self.user else [],
                      flash=self.session.pop("f", None) if self.session else None)
        return HTMLResponse(self.console.templates.get_template(name).render(**values), status_code=status)

    def back(self, url, flash=None):
        if flash is not None:
            self.session["f"] = flash
        return RedirectResponse(url, status_code=303)

    @property
    def operator(self):
        return "user:%d" % self.user["id"]  # the record names console users by id, as it names guards


class Console:
    def __init__(self, data_dir, throttle=None, idle_s=auth.IDLE_S, stream_s=None):
        self.data_dir = str(data_dir)
        self.stream_s = stream_s  # how long one live stream lasts (None: door.STREAM_S); tests shorten it
        self.sessions = auth.Sessions(session_key(self.data_dir), idle_s)
        self.throttle = throttle or auth.LoginThrottle()
        self.templates = jinja2.Environment(loader=jinja2.PackageLoader("pintu.web", "templates"), autoescape=True)
        self.manual = ManualChecks()  # a checked NIK waits here, never in the page or the cookie
        self._local = threading.local()
        self._opened = []
        self.lock = threading.Lock()

    def data(self):
        """One DataDir per worker thread (a Store is one connection, for one thread at a time)."""
        data = getattr(self._local, "data", None)
        if data is None:
            data = self._local.data = DataDir(self.data_dir)
            with self.lock:
                self._opened.append(data)
        return data

    def close(self):
        with self.lock:
            for data in self._opened:
                data.close()
            self._opened.clear()

    def nav(self, data, user):
        visible = users.visible_sites(data, user)
        """The links of the page header: (url, message key, site)."""
        links = [("/door/%s" % s, "door_view", s) for s in visible]
        if user["role"] in OFFICE:
            links += [("/office/%s" % s, "office_view", s) for s in visible]
        if user["role"] in CITY:
            links.append(("/city", "city_view", ""))
        return links

    def context(self, request, roles, form):
        """-> Context, or the Response that ends the request (login redirect, 403, 404)."""
        lang = lang_of(request.cookies.get(auth.LANG_COOKIE))
        session = self.sessions.read(request.cookies.get(auth.COOKIE))
        data = self.data()
        if request.method == "POST" and not auth.token_ok(session, (form or {}).get(auth.FORM_FIELD)):
            return PlainTextResponse(text(lang, "forbidden"), status_code=403)
        if roles is PUBLIC:
            return Context(self, request, session or self.sessions.make(), None, lang, data, form)
        user = session_user(data, session)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        if user["role"] not in roles:
            return not_found(lang)
        site = request.path_params.get("site")
        if site is not None and not users.may_see(data, user, site):
            return not_found(lang)
        return Context(self, request, session, user, lang, data, form)

    def finish(self, ctx, response):
        """Every answer refreshes the session cookie: the idle expiry counts from the last request."""
        if ctx.session is not None:
            auth.set_cookie(response, auth.COOKIE, self.sessions.dump(ctx.session), ctx.request.url.scheme == "https",
                            self.sessions.idle_s)
        return response


def session_user(data, session):
    """The account of a session that still holds (one query by primary key), or None: no account, a removed or
    disabled account, or an older session number (a logout or a new password since)."""
    user = data.store.get_user(session["u"]) if session and isinstance(session.get("u"), int) else None
    if user is None or user["disabled"] is not None or user["sessions"] != session.get("n"):
        return None
    return user


def not_found(lang):
    return PlainTextResponse(text(lang, "not_found"), status_code=404)


async def read_form(request):
    """A POST's urlencoded fields, read up to MAX_BODY bytes and MAX_FIELDS fields (a body without a length, sent in
    chunks, is counted as it comes). -> dict, or the 413/400 Response."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
    try:
        return dict(urllib.parse.parse_qsl(body.decode("utf-8"), max_num_fields=MAX_FIELDS))
    except (UnicodeDecodeError, ValueError):
        return PlainTextResponse("bad form", status_code=400)


def guarded(roles, methods=("GET",)):
    """A route for these roles: the endpoint (request, ctx) runs in a worker thread, after the checks."""

    def wrap(handler):
        async def endpoint(request):
            form = None
            if request.method == "POST":
                form = await read_form(request)
                if isinstance(form, Response):
                    return form
            console = request.app.state.console
            return await run_in_threadpool(_handle, console, handler, request, roles, form)

        endpoint.roles, endpoint.methods, endpoint.__name__ = roles, methods, handler.__name__
        return endpoint

    return wrap


def _handle(console, handler, request, roles, form):
    ctx = console.context(request, roles, form)
    if isinstance(ctx, Response):
        return ctx
    try:
        response = handler(request, ctx)
    except PintuError as exc:
        response = ctx.render("error.html", status=400, message=str(exc))
    return console.finish(ctx, response)


def int_param(text):
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < 2**62 else None


class SecurityHeaders:
    """Adds the console's security headers to every response, assets and errors included."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


