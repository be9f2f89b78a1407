"""The door view's routes (a guard's tablet at the entrance): the page, its live stream, acknowledging a BLACK
alert, the answer to a YELLOW held for the guard, and "Tamu tanpa HP" (a visitor without a phone: by NIK, checked
with the site's policy first, then admitted or turned away; or checked out). Decisions are the library's
(pintu.checkin); the NIK is never sent back to the page, only its last four digits."""

import asyncio
import json
import logging
import sqlite3
import time

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from pintu import checkin
from pintu.web import views
from pintu.web.console import DOOR, guarded, int_param, not_found, session_user
from pintu.web.messages import reason_text, verdict_text

POLL_S = 0.25  # the live stream's look at the database
STREAM_S = 300  # a stream ends after this; the browser reconnects with Last-Event-ID (and a fresh session check)
KEEPALIVE_S = 15
log = logging.getLogger("pintu.web")



@guarded(DOOR)
def door(request, ctx):
    page = views.door_page(ctx.data, ctx.site, ctx.lang)
    result = ctx.console.manual.result(ctx.session.get("m"), ctx.site, ctx.user["id"])
    return ctx.render("door.html", manual_result=result, **page)


async def door_stream(request):
    """Server-Sent Events: the site's new events, looked up every POLL_S (the gateway is another process)."""
    console = request.app.state.console
    ctx = await run_in_threadpool(console.context, request, DOOR, None)
    if isinstance(ctx, Response):
        return ctx
    # The last event the page has: a number the browser sends back, bounded before it reaches the database.
    after = int_param(request.headers.get("last-event-id") or request.query_params.get("after")) or 0
    site, lang, session = ctx.site, ctx.lang, ctx.session

    def look(since):
        """-> the new events, or None when the session no longer holds (a logout, a new password, a disabled or
        removed account since the stream opened): checked before every look, so nothing is sent after it ends."""
        try:
            data = console.data()
            if session_user(data, session) is None:
                return None
            return views.new_events(data, [site], since, lang)
        except sqlite3.Error as exc:  # storage failing: the page shows nothing new, and tries again
            log.warning("live view: storage error (%s)", exc)
            return []

    async def stream():
        nonlocal after
        started = last_sent = time.monotonic()
        yield "retry: 1000\n\n"
        while time.monotonic() - started < (console.stream_s or STREAM_S):
            rows = await run_in_threadpool(look, after)
            if rows is None:
                return  # the browser reconnects, and is sent to the login page
            for row in rows:
                after = row["id"]
                last_sent = time.monotonic()
                yield "id: %d\nevent: scan\ndata: %s\n\n" % (row["id"], json.dumps(row, ensure_ascii=False))
            if time.monotonic() - last_sent > KEEPALIVE_S:
                last_sent = time.monotonic()
                yield ": keepalive\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-store"})


door_stream.roles, door_stream.methods = DOOR, ("GET",)


@guarded(DOOR, ("POST",))
def ack(request, ctx):
    event_id = int_param(request.path_params["event"])
    row = ctx.data.store.get_event(event_id) if event_id else None
    if row is None or row["site_id"] != ctx.site or not row["flagged"]:
        return not_found(ctx.lang)
    with ctx.data.store.write():
        ctx.data.store.ack_alert(event_id, ctx.site, ctx.operator, int(time.time()))
    return ctx.back("/door/%s" % ctx.site)


def _answer(confirm):
    def answer(request, ctx):
        person = int_param(request.path_params["person"])
        decision = checkin.settle_hold_of(ctx.data, ctx.site, person, confirm, operator=ctx.operator)
        return ctx.back("/door/%s" % ctx.site, _done(ctx, decision))

    return answer


confirm_hold = guarded(DOOR, ("POST",))(_answer(True))
refuse_hold = guarded(DOOR, ("POST",))(_answer(False))


def _done(ctx, decision):
    return ctx.t("done", verdict=verdict_text(ctx.lang, decision.verdict_name),
                 reason=reason_text(ctx.lang, decision.reason_name), inside=decision.occupancy,
                 capacity=decision.capacity)


@guarded(DOOR, ("POST",))
def manual_check(request, ctx):
    """Decide with the site's policy and record nothing (dry run); the NIK waits server-side for Admit."""
    nik = str(ctx.form.get("nik", ""))[:40]
    decision = checkin.admit(ctx.data, ctx.site, nik, operator=ctx.operator, dry_run=True)
    result = ctx.t("manual_result", nik=views.mask_nik(nik), verdict=verdict_text(ctx.lang, decision.verdict_name),
                   reason=reason_text(ctx.lang, decision.reason_name))
    ctx.session["m"] = ctx.console.manual.put(nik, ctx.site, ctx.user["id"], result)
    ctx.session.pop("mr", None)  # a cookie from before this change: the result is no longer kept there
    return ctx.back("/door/%s" % ctx.site)


def _take_manual(ctx):
    ctx.session.pop("mr", None)
    return ctx.console.manual.take(ctx.session.pop("m", None), ctx.site, ctx.user["id"])


@guarded(DOOR, ("POST",))
def manual_admit(request, ctx):
    nik = _take_manual(ctx)
    if nik is None:
        return ctx.back("/door/%s" % ctx.site, ctx.t("manual_expired"))
    return ctx.back("/door/%s" % ctx.site, _done(ctx, checkin.admit(ctx.data, ctx.site, nik, operator=ctx.operator)))


@guarded(DOOR, ("POST",))
def manual_turn_away(request, ctx):
    _take_manual(ctx)
    return ctx.back("/door/%s" % ctx.site, ctx.t("turned_away"))


@guarded(DOOR, ("POST",))
def manual_checkout(request, ctx):
    nik = str(ctx.form.get("nik", ""))[:40]
    decision = checkin.checkout(ctx.data, ctx.site, nik, operator=ctx.operator)
    return ctx.back("/door/%s" % ctx.site, _done(ctx, decision))


