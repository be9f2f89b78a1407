"""A TCP proxy that can cut or stall the network between simulated units and the broker (the fault tests)."""

import selectors
import socket
import threading


class TcpProxy:
    """127.0.0.1:port -> 127.0.0.1:target. drop(): close every connection and refuse new ones (a cable pulled,
    Wi-Fi gone); pause(): keep connections but forward nothing (a stalled link); restore() undoes both."""

    def __init__(self, target):
        self.target = target
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._pairs = []
        self._lock = threading.Lock()
        self._down = False
        self._paused = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="proxy", daemon=True)
        self._thread.start()
        self.connections = 0

    def _run(self):
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, None)
        while not self._stop.is_set():
            with self._lock:
                pairs = list(self._pairs)
            for a, b in pairs:
                for s, peer in ((a, b), (b, a)):
                    try:
                        sel.register(s, selectors.EVENT_READ, peer)
                    except (KeyError, ValueError, OSError):
                        pass
            ready = sel.select(0.05) if not self._paused else [(k, e) for k, e in sel.select(0.05)
                                                                  if k.fileobj is self._listener]
            for key, _ in ready:
                if key.fileobj is self._listener:
                    self._accept()
                    continue
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._close_pair(key.fileobj)
                    continue
                try:
                    key.data.sendall(data)
                except OSError:
                    self._close_pair(key.fileobj)
            for key in list(sel.get_map().values()):
                if key.fileobj is not self._listener:
                    sel.unregister(key.fileobj)
        sel.close()

    def _accept(self):
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        if self._down:
            client.close()
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target), timeout=2)
        except OSError:
            client.close()
            return
        with self._lock:
            self._pairs.append((client, upstream))
            self.connections += 1

    def _close_pair(self, sock):
        with self._lock:
            for pair in list(self._pairs):
                if sock in pair:
                    self._pairs.remove(pair)
                    for s in pair:
                        try:
                            s.close()
                        except OSError:
                            pass

    def drop(self):
        self._down = True
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def pause(self):
        self._paused = True

    def restore(self):
        self._down = False
        self._paused = False

    def close(self):
        self.drop()
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
