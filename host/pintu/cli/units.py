"""`pintu serve|flash|deploy|simulate|demo`: running the gateway for door units, and the technician's tools."""

import logging
import os

import click

from pintu.cli.base import data_of, emit, json_option, main
from pintu.errors import PintuError
from pintu.gateway import server
from pintu.registry import provision


@main.command()
@click.option("--serial", "serial_ports", multiple=True, metavar="PORT",
              help="A unit's serial port or pyserial URL (socket://, loop://); repeatable.")
@click.option("--mqtt", "mqtt_url", metavar="URL", multiple=True,
              help="Broker, mqtt://HOST:PORT or mqtts://HOST:PORT (TLS); repeatable (one worker serving several "
                   "brokers).")
@click.option("--ca", type=click.Path(dir_okay=False, exists=True),
              help="CA file an mqtts:// broker is checked with (default: DATA/tls/ca.pem).")
@click.option("--user", "mqtt_user",
              help="Broker user (default: %s; one per worker: %s-2, %s-3, ...)." % ((provision.HOST_USER,) * 3))
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True),
              help="File holding the broker password (default: the data directory's).")
@click.option("--client-id", help="MQTT client id of this worker (default: one per run; a broker from "
              "`pintu broker-config` uses the login instead).")
@click.option("-v", "--verbose", is_flag=True, help="Log every frame's outcome.")
@click.pass_context
def serve(ctx, serial_ports, mqtt_url, ca, mqtt_user, password_file, client_id, verbose):
    """Run the gateway for door units until Ctrl-C or SIGTERM, logging one line per decision."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    password = None
    if mqtt_url:
        data = data_of(ctx)
        mqtt_user = mqtt_user or provision.HOST_USER
        if password_file:
            with open(password_file) as f:
                password = f.read().strip()
        elif os.path.exists(os.path.join(data.path, provision.HOST_PASSWORD_FILE)):
            password = provision.host_password(data)
    server.Server(ctx.find_root().obj, serial_ports, mqtt_url, mqtt_user, password, client_id, ca).run_forever()


@main.command()
@click.option("--port", required=True, help="Serial port of the board, e.g. /dev/ttyUSB0.")
@click.option("--chip", required=True, type=click.Choice(("esp32", "esp32s2", "esp32s3", "esp32c3")))
@click.option("--image", required=True, metavar="MICROPYTHON.bin", help="The MicroPython image for the board.")
@click.option("--erase", is_flag=True, help="Erase the whole flash first (a first install, or a broken filesystem).")
@click.option("--baud", default=460800, show_default=True, type=int, help="Rate for writing (after the ROM sync).")
@json_option
def flash(port, chip, image, erase, baud, as_json):
    """Write MicroPython to a board: checks the image and the chip first, verifies after writing."""
    from pintu.tech import flash as flash_mod

    plan = flash_mod.FlashPlan(port, chip, image, erase, baud)
    with flash_mod.esptool_output_to_stderr():
        result = flash_mod.flash(plan, log=lambda text: click.echo("pintu: " + text, err=True))
    emit(as_json, result, lambda r: click.echo("flashed %s (%d bytes) to the %s on %s at %s, verified"
                                                % (r["image"], r["bytes"], r["chip"], r["port"], r["offset"])))


@main.command()
@click.option("--port", required=True, help="The board's serial port or any pyserial URL (socket://HOST:PORT).")
@click.option("--device", "device_id", required=True, help="A unit registered with pintu device add.")
@click.option("--dry-run", is_flag=True,
              help="Say which form (.mpy or .py) would be installed, list what would be copied and removed and "
                   "what is unchanged; write nothing.")
@click.option("--source", is_flag=True,
              help="Install the modules under /lib as .py sources, not .mpy compiled by mpy-cross (for debugging).")
@click.option("--hello-timeout", default=15.0, show_default=True, type=float,
              help="Seconds to wait for the unit's HELLO after the reset.")
@json_option
@click.pass_context
def deploy(ctx, port, device_id, dry_run, source, hello_timeout, as_json):
    """Copy the firmware, protocol, umqtt (as .mpy compiled by mpy-cross), board file and the unit's config to a
    board; reset it; wait for HELLO. Files whose SHA-256 already matches on the board are skipped."""
    from pintu.tech import deploy as deploy_mod

    result = deploy_mod.deploy(ctx.find_root().obj, device_id, port, dry_run=dry_run, hello_timeout=hello_timeout,
                               source=source, log=lambda text: click.echo("pintu: " + text, err=True))

    def human(r):
        form = "compiled .mpy modules" if r["form"] == "mpy" else ".py sources"
        if r["dry_run"]:
            click.echo("would install %s under /lib" % form)
            for target in r["would_copy"]:
                click.echo("would copy %s" % target)
            for target in r["would_remove"]:
                click.echo("would remove %s" % target)
            click.echo("%d to copy, %d unchanged, %d to remove" % (len(r["would_copy"]), len(r["unchanged"]),
                                                                  len(r["would_remove"])))
            return
        click.echo("installed %s under /lib" % form)
        click.echo("copied %d file(s), %d unchanged" % (len(r["copied"]), len(r["unchanged"])))
        if r["removed"]:
            click.echo("removed %d file(s) of the other form: %s" % (len(r["removed"]), ", ".join(r["removed"])))
        if r["hello"]:
            click.echo("%s says HELLO: firmware %s on %s" % (r["device"], r["hello"]["firmware"],
                                                             r["hello"]["board"]))

    emit(as_json, result, human)


@main.command()
@click.option("--units", "n_units", default=1, show_default=True, type=click.IntRange(1, 10000))
@click.option("--serial", "serial_ports", multiple=True, metavar="PORT",
              help="One serial port or pyserial URL per unit (the host serves the other end); repeatable.")
@click.option("--mqtt", "mqtt_url", metavar="URL", help="Broker, mqtt://HOST:PORT or mqtts://HOST:PORT (TLS).")
@click.option("--ca", type=click.Path(dir_okay=False, exists=True),
              help="CA file made-up units check an mqtts:// broker with (default: DATA/tls/ca.pem).")
@click.option("--codes", "codes_file", type=click.Path(dir_okay=False),
              help="Codes to show, one per line (default: made-up codes the host finds INVALID).")
@click.option("--rate", default=1.0, show_default=True, type=float, help="Scans per second, all units together.")
@click.option("--count", type=click.IntRange(1), help="Stop after this many scans (default: one per code).")
@click.option("--seconds", type=float, help="Stop after this long.")
@click.option("--config", "config_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Unit configs written by pintu device add (default: made-up units with simulator keys).")
@json_option
@click.pass_context
def simulate(ctx, n_units, serial_ports, mqtt_url, ca, codes_file, rate, count, seconds, config_files, as_json):
    """Run simulated door units (the real firmware under CPython) against a host, then print their stats."""
    from pintu.addresses import parse_broker
    from pintu.registry.tls import read_ca_file
    from pintu.tech import simulator

    if bool(serial_ports) == bool(mqtt_url):
        raise PintuError("give --serial PORT (one per unit) or --mqtt URL")
    if rate <= 0:
        raise PintuError("--rate must be above 0")
    ca_der = None
    if mqtt_url and parse_broker(mqtt_url).tls:
        ca = ca or server.default_ca(ctx.find_root().obj)
        ca_der = read_ca_file(ca) if ca else None
    try:
        stats = simulator.run_simulation(units=n_units, serial=list(serial_ports) or None, mqtt=mqtt_url,
                                         codes_file=codes_file, rate=rate, count=count, duration=seconds,
                                         config_files=list(config_files) or None, ca=ca_der)
    except simulator.SimulatorError as e:
        raise PintuError(str(e)) from None

    def human(s):
        click.echo("%d scans in %.1f s: %s" % (s["scans"], s["seconds"], ", ".join(
            "%s %d" % kv for kv in sorted(s["patterns"].items())) or "no feedback"))
        click.echo("duplicates %d, busy %d, queued %d, errors %d" % (s["duplicates"], s["busy"], s["queued"],
                                                                    s["errors"]))

    emit(as_json, stats, human)


@main.command()
@click.option("--mqtt", "mqtt_url", metavar="URL",
              help="Run the units and host through this broker (mqtt://HOST:PORT, or mqtts://HOST:PORT with --ca).")
@click.option("--ca", type=click.Path(dir_okay=False, exists=True), help="CA file of an mqtts:// broker.")
@click.option("--seconds", type=click.FloatRange(min=1), help="Stop after this long (default: one round of visitors).")
@click.option("--forever", is_flag=True, help="Keep visitors coming until Ctrl-C.")
@click.option("--pace", default=0.8, show_default=True, type=click.FloatRange(min=0),
              help="Seconds between visitors.")
@click.option("--keep", is_flag=True, help="Keep the throw-away folder (data directory and cards).")
def demo(mqtt_url, ca, seconds, forever, pace, keep):
    """The whole system on this machine: a site, persons, cards, the host and three simulated units, live."""
    import signal
    import threading

    from pintu.tech import demo as demo_mod

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        demo_mod.run_demo(mqtt=mqtt_url, seconds=seconds, forever=forever, keep=keep, pace=pace, stop_event=stop,
                          ca=ca)
    finally:
        signal.signal(signal.SIGINT, previous)

