"""`pintu serve`: the gateway behind its transports, run until SIGINT or SIGTERM."""

import logging
import os
import signal
import threading
import time

from pintu.checkin.door_opens import PUSH_EVERY_S
from pintu.data.datadir import DataDir
from pintu.errors import PintuError
from pintu.gateway.gateway import Gateway
from pintu.gateway.mqtt_link import MqttLink
from pintu.gateway.serial_link import SerialLink
from pintu.registry.tls import ca_paths

log = logging.getLogger("pintu.serve")
RETENTION_EVERY_S = 86400  # each site's retention is applied at start and then once a day (issue 15)


def default_ca(data_dir):
    """DATA/tls/ca.pem when broker-config --tls made it, else None."""
    path = ca_paths(os.fspath(data_dir))[1]
    return path if os.path.exists(path) else None


class Server:
    """Opens the data directory, the gateway and every link. start(), then stop() (also on a signal). Beside the
    links, a thread looks every door_opens.PUSH_EVERY_S for doors a guard's confirmation by hand opens (the CLI and the
    console run in other processes: the database is the only channel) and sends them (Gateway.push_opens).

    mqtt_url: one broker URL or several (a city with one Mosquitto per district: each unit belongs to one, and the
    answer to a frame goes back through the broker it came from)."""

    def __init__(self, data_dir, serial_ports=(), mqtt_url=None, mqtt_user=None, mqtt_password=None,
                 client_id=None, ca=None):
        """ca: the CA file an mqtts:// broker is checked with (default: the data directory's, DATA/tls/ca.pem)."""
        mqtt_urls = [mqtt_url] if isinstance(mqtt_url, str) else list(mqtt_url or ())
        if not serial_ports and not mqtt_urls:
            raise PintuError("nothing to serve: give --serial PORT and/or --mqtt mqtt://HOST:PORT")
        self.data = DataDir(data_dir)
        self.gateway = Gateway(self.data)
        self.links = [SerialLink(port, self.gateway.handle) for port in serial_ports]
        # A serial link has one unit and waits for its answer; an MQTT link's one reader thread hands its frames on
        # without waiting, so they gather into batches (group commit, gateway.py) while a COMMIT runs.
        for url in mqtt_urls:  # a bad address is a PintuError from pintu.addresses: one line, before anything starts
            self.links.append(
                MqttLink(url, self.gateway.submit, username=mqtt_user, password=mqtt_password, client_id=client_id,
                         ca=ca or default_ca(data_dir))
            )
        self.stopped = threading.Event()
        self._pushing = threading.Event()  # set: the door-open pusher stops
        self._pusher = threading.Thread(target=self._push_opens, name="pintu-door-opens", daemon=True)

    def start(self):
        for link in self.links:
            link.start()
        self._pusher.start()
        log.info("serving %d link(s)", len(self.links))
        return self

    def _push_opens(self):
        """Every PUSH_EVERY_S: the doors a guard's confirmation by hand opens (checkin/door_opens.py), sent to the
        units this worker has heard. A failure is logged and the next look tries again: the doors keep working."""
        while not self._pushing.wait(PUSH_EVERY_S):
            try:
                self.gateway.push_opens()
            except Exception:
                log.exception("door opens: unexpected error")

    def stop(self):
        if self.stopped.is_set():
            return
        # Links first: no new frame is taken; the frames already taken are decided and answered, then the gateway
        # closes the database.
        for link in self.links:
            link.close()
        self._pushing.set()
        if self._pusher.is_alive():
            self._pusher.join()
        self.gateway.close()
        self.stopped.set()

    def run_forever(self):
        """Serve until SIGINT or SIGTERM; a committed event is never lost, and no answer leaves before its COMMIT."""

        def on_signal(signum, frame):
            log.info("signal %d: stopping", signum)
            threading.Thread(target=self.stop, daemon=True).start()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        self.start()
        next_retention = time.monotonic()
        while not self.stopped.wait(0.5):
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + RETENTION_EVERY_S
                self.apply_retention()

    def apply_retention(self):
        """Purge what is past each site's retention, on a connection of its own (the links' threads use theirs)."""
        from pintu.checkin.events import purge

        try:
            with DataDir(self.data.path) as data:
                counts = purge(data)
            log.info("retention: purged %(events)d events, %(visits)d visits, %(holders)d holders", counts)
        except Exception:  # a failed purge must not stop the doors; it is tried again tomorrow
            log.exception("retention purge failed")
