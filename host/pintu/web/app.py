"""The console's routes (`pintu web`): thin — each checks who asks (console.py), gathers a page (views.py) or calls
one library function (checkin, registry), and renders a template. The door view's routes are in door.py."""

import contextlib
from importlib.resources import files

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pintu.checkin import events
from pintu.registry import users
from pintu.web import auth, door, views
from pintu.web.console import ANY, CITY, OFFICE, PUBLIC, Console, SecurityHeaders, guarded, not_found
from pintu.web.messages import lang_of

FILTER_VERDICTS = ("GREEN", "YELLOW", "HOLD", "RED", "BLACK", "FULL", "INVALID", "EXIT")


# -- accounts


@guarded(PUBLIC)
def login_page(request, ctx):
    return ctx.render("login.html")


@guarded(PUBLIC, ("POST",))
def login(request, ctx):
    name, password = str(ctx.form.get("name", ""))[:100], str(ctx.form.get("password", ""))
    throttle = ctx.console.throttle
    wait, ticket = throttle.begin(throttle.keys(name, request.client.host if request.client else ""))
    if wait:
        return ctx.render("login.html", status=429, error=ctx.t("login_throttled", seconds=wait))
    user = users.authenticate(ctx.data, name, password)
    if user is None:  # the try stays counted as failed
        return ctx.render("login.html", status=401, error=ctx.t("login_failed"))
    throttle.succeeded(ticket)
    ctx.session = ctx.console.sessions.make(user)
    return RedirectResponse("/", status_code=303)


@guarded(ANY, ("POST",))
def logout(request, ctx):
    users.end_sessions(ctx.data, ctx.user["id"])
    ctx.session = ctx.console.sessions.make()
    return RedirectResponse("/login", status_code=303)


@guarded(PUBLIC)
def set_lang(request, ctx):
    target = request.query_params.get("next", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"  # only a path of this console: never a redirect elsewhere
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(auth.LANG_COOKIE, lang_of(request.path_params["lang"]), max_age=365 * 86400, path="/",
                        samesite="strict", httponly=True)
    return response


@guarded(ANY)
def home(request, ctx):
    visible = users.visible_sites(ctx.data, ctx.user)
    if ctx.user["role"] == users.CITY_ADMIN:
        return RedirectResponse("/city", status_code=303)
    if not visible:
        return not_found(ctx.lang)
    view = "office" if ctx.user["role"] == users.OFFICE_ADMIN else "door"
    return RedirectResponse("/%s/%s" % (view, visible[0]), status_code=303)


@guarded(ANY)
def account(request, ctx):
    return ctx.render("account.html")


@guarded(ANY, ("POST",))
def change_password(request, ctx):
    new = str(ctx.form.get("new", ""))
    if new != str(ctx.form.get("again", "")):
        return ctx.render("account.html", status=400, error=ctx.t("passwords_differ"))
    users.set_password(ctx.data, ctx.user["name"], new, old_password=str(ctx.form.get("old", "")))
    ctx.session = ctx.console.sessions.make(ctx.data.store.get_user(ctx.user["id"]))  # this session goes on
    ctx.session["f"] = ctx.t("password_changed")
    return RedirectResponse("/account", status_code=303)


@guarded(ANY)
def ping(request, ctx):
    return PlainTextResponse("ok")  # the door view calls it so a tablet left on its page stays logged in


# -- the office and city views


def _filters(request):
    q = request.query_params
    return {"since": q.get("since", "")[:40], "verdict": q.get("verdict", "")[:12],
            "limit": q.get("limit", "100")[:8] or "100"}


@guarded(OFFICE)
def office(request, ctx):
    f = _filters(request)
    page = views.office_page(ctx.data, ctx.site, ctx.lang, f["since"], f["verdict"], f["limit"])
    return ctx.render("office.html", filters=f, verdicts=FILTER_VERDICTS, **page)


@guarded(OFFICE)
def office_csv(request, ctx):
    f = _filters(request)
    rows = events.list_events(ctx.data, ctx.site, f["since"] or None, f["verdict"] or None, f["limit"])
    return Response(events.events_csv(rows), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": 'attachment; filename="pintu-%s-events.csv"' % ctx.site})


@guarded(OFFICE)
def office_chart(request, ctx):
    page = views.office_page(ctx.data, ctx.site, ctx.lang, limit=1)
    return Response(page["chart"], media_type="image/svg+xml")


@guarded(CITY)
def city(request, ctx):
    return ctx.render("city.html", **views.city_page(ctx.data, ctx.lang))


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/lang/{lang}", set_lang, methods=["GET"]),
    Route("/", home, methods=["GET"]),
    Route("/account", account, methods=["GET"]),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/ping", ping, methods=["GET"]),
    Route("/door/{site}", door.door, methods=["GET"]),
    Route("/door/{site}/stream", door.door_stream, methods=["GET"]),
    Route("/door/{site}/ack/{event}", door.ack, methods=["POST"]),
    Route("/door/{site}/hold/{person}/confirm", door.confirm_hold, methods=["POST"]),
    Route("/door/{site}/hold/{person}/refuse", door.refuse_hold, methods=["POST"]),
    Route("/door/{site}/manual/check", door.manual_check, methods=["POST"]),
    Route("/door/{site}/manual/admit", door.manual_admit, methods=["POST"]),
    Route("/door/{site}/manual/turn-away", door.manual_turn_away, methods=["POST"]),
    Route("/door/{site}/manual/checkout", door.manual_checkout, methods=["POST"]),
    Route("/office/{site}", office, methods=["GET"]),
    Route("/office/{site}/events.csv", office_csv, methods=["GET"]),
    Route("/office/{site}/chart.svg", office_chart, methods=["GET"]),
    Route("/city", city, methods=["GET"]),
]


def create_app(data_dir, throttle=None, idle_s=auth.IDLE_S, stream_s=None):
    """The console for a data directory (the web process opens its own connections; the gateway is another)."""

    console = Console(data_dir, throttle, idle_s, stream_s)
    static = StaticFiles(directory=str(files("pintu.web") / "static"))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        console.close()

    app = Starlette(routes=ROUTES + [Mount("/static", static, name="static")], lifespan=lifespan)
    app.state.console = console
    app.add_middleware(SecurityHeaders)
    return app
