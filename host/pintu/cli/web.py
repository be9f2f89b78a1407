"""`pintu web`: the console for guards, office heads and the city's IT officer, served by uvicorn (issue 19)."""

import ipaddress

import click

from pintu.cli.base import main
from pintu.errors import PintuError
from pintu.registry.validate import MAX_ID

DEFAULT_BIND = "127.0.0.1:8080"


def parse_bind(text):
    """'HOST:PORT' ([v6]:PORT too) -> (host, port, loopback)."""
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port)
    except ValueError:
        port = -1
    if not sep or not host or len(host) > 253 or not 0 < port < 65536:
        raise PintuError("bad --bind %r (HOST:PORT, e.g. %s)" % (text[:MAX_ID * 2], DEFAULT_BIND))
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return host, port, loopback


@main.command("web")
@click.option("--bind", default=DEFAULT_BIND, show_default=True, help="HOST:PORT to listen on.")
@click.pass_context
def web(ctx, bind):
    """Serve the web console (door, office and city views). Create accounts first with `pintu user add`."""
    import uvicorn

    from pintu.data.datadir import open_store
    from pintu.web.app import create_app

    host, port, loopback = parse_bind(bind)
    open_store(ctx.obj).close()  # no data directory: one line now, not a traceback at the first request
    if not loopback:
        click.echo("pintu: warning: the console listens on %s, beyond this machine: put it behind TLS (a reverse "
                   "proxy with HTTPS, see the README's Console section); passwords and sessions cross the network"
                   % bind, err=True)
    click.echo("pintu web: http://%s:%d/ (Ctrl-C stops)" % (host if ":" not in host else "[%s]" % host, port),
               err=True)
    uvicorn.run(create_app(ctx.obj), host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=2, proxy_headers=True, forwarded_allow_ips="127.0.0.1")
