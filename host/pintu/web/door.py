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
from pintu.web import auth, views
from pintu.web.console import DOOR, guarded, int_param, not_found
from pintu.web.messages import reason_text, verdict_text

MANUAL_TTL_S = 120  # a "Tamu tanpa HP" check must be answered within two minutes, by whoever made it
MAX_MANUAL = 1000  # checks waiting at once: a flood of them never grows the process
POLL_S = 0.25  # the live stream's look at the database
STREAM_S = 300  # a stream ends after this; the browser reconnects with Last-Event-ID (and a fresh session check)
KEEPALIVE_S = 15
log = logging.getLogger("pintu.web")



@guarded(DOOR)
def door(request, ctx):
    page = views.door_page(ctx.data, ctx.site, ctx.lang)
    manual = ctx.console.manual.get(ctx.session.get("m")) if ctx.session.get("m") else None
    return ctx.render("door.html", manual_result=ctx.session.get("mr") if manual else None, **page)


async def door_stream(request):
    """Server-Sent Events: the site's new events, looked up every POLL_S (the gateway is another process)."""
    console = request.app.state.console
    ctx = await run_in_threadpool(console.context, request, DOOR, None)
    if isinstance(ctx, Response):
        return ctx
    # The last event the page has: a number the browser sends back, bounded before it reaches the database.
    after = int_param(request.headers.get("last-event-id") or request.query_params.get("after")) or 0
    site, lang = ctx.site, ctx.lang

    def look(since):
        try:
            return views.new_events(console.data(), [site], since, lang)
        except sqlite3.Error as exc:  # storage failing: the page shows nothing new, and tries again
            log.warning("live view: storage error (%s)", exc)
            return []

    async def stream():
        nonlocal after
        started = last_sent = time.monotonic()
        yield "retry: 1000\n\n"
        while time.monotonic() - started < (console.stream_s or STREAM_S):
            rows = await run_in_threadpool(look, after)
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
    console, now = ctx.console, time.monotonic()
    with console.lock:
        for key in [k for k, v in console.manual.items() if v[3] < now]:
            del console.manual[key]
        if len(console.manual) > 1000:  # bounded: a flood of checks never grows the process
            console.manual.clear()
        token = auth.new_token()
        console.manual[token] = (nik, ctx.site, ctx.user["id"], now + MANUAL_TTL_S)
    ctx.session["m"] = token
    ctx.session["mr"] = ctx.t("manual_result", nik=views.mask_nik(nik), verdict=verdict_text(
        ctx.lang, decision.verdict_name), reason=reason_text(ctx.lang, decision.reason_name))
    return ctx.back("/door/%s" % ctx.site)


def _take_manual(ctx):
    token = ctx.session.pop("m", None)
    ctx.session.pop("mr", None)
    with ctx.console.lock:
        entry = ctx.console.manual.pop(token, None) if isinstance(token, str) else None
    if entry is None or entry[1] != ctx.site or entry[2] != ctx.user["id"] or entry[3] < time.monotonic():
        return None
    return entry[0]


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


