"""Fakes of an MQTT unit's network for tests and the host's simulator: an in-process broker with retained messages,
last wills and outages, the umqtt.simple calls the MQTT link makes, and Wi-Fi. Not deployed (deploy's TEST_ONLY).

No mocks: plain objects that run under MicroPython as well as CPython."""


class FakeBroker:
    """An in-process MQTT broker for umqtt-like FakeMqttClients: retained messages, last wills, outages."""

    def __init__(self):
        self.up = True
        self.retained = {}
        self.published = []  # (topic, msg, retain, qos) from clients
        self.subscriptions = []  # (client, topic) in order, including resubscriptions
        self.clients = []

    def publish(self, topic, msg, retain=False, qos=0):
        self.published.append((topic, bytes(msg), retain, qos))
        if retain:
            self.retained[topic] = bytes(msg)
        for client, sub in self.subscriptions:
            if sub == topic and client.alive:
                client.inbox.append((topic, bytes(msg)))

    def drop(self):
        """Network or broker gone: every client's socket dies, their last wills are published."""
        self.up = False
        for client in self.clients:
            if client.alive:
                client.alive = False
                if client.will:
                    topic, msg, retain, _qos = client.will
                    if retain:
                        self.retained[topic] = msg
        self.clients = []
        self.subscriptions = []

    def restore(self):
        self.up = True


class _Sock:
    def __init__(self, client):
        self._client = client

    def close(self):
        self._client.alive = False


class FakeMqttClient:
    """The umqtt.simple calls MqttLink makes, against a FakeBroker."""

    def __init__(self, broker, client_id, keepalive=60):
        self.broker = broker
        self.client_id = client_id
        self.keepalive = keepalive
        self.cb = None
        self.will = None
        self.alive = False
        self.inbox = []
        self.pings = 0
        self.sock = _Sock(self)

    def _check(self):
        if not (self.alive and self.broker.up):
            raise OSError(104)

    def set_callback(self, cb):
        self.cb = cb

    def set_last_will(self, topic, msg, retain=False, qos=0):
        self.will = (topic, msg, retain, qos)

    def connect(self, clean_session=True):
        if not self.broker.up:
            raise OSError(113)
        self.alive = True
        self.broker.clients.append(self)
        return 0

    def publish(self, topic, msg, retain=False, qos=0):
        self._check()
        self.broker.publish(topic, msg, retain, qos)

    def subscribe(self, topic, qos=0):
        self._check()
        self.broker.subscriptions.append((self, topic))

    def check_msg(self):
        self._check()
        if self.inbox:
            topic, msg = self.inbox.pop(0)
            self.cb(topic, msg)
        return None

    def ping(self):
        self._check()
        self.pings += 1

    def disconnect(self):
        self.alive = False


class FakeWifi:
    def __init__(self):
        self.up = True

    def connect(self):
        pass

    def isconnected(self):
        return self.up
