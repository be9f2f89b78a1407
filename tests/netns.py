"""Hosts on one machine as separate network namespaces (root only): each host its own namespace, joined by a bridge
in a namespace of its own, and this process's namespace joined to it too, so a test drives units from here and talks
to the database and the broker over a real (virtual) network. A host can be cut off (its link set down) without its
processes noticing, as when a machine vanishes. bench/faults.py --netns uses it."""

import os
import subprocess


def available():
    """-> None when namespaces can be made here, else why not."""
    if os.getuid() != 0:
        return "network namespaces need root"
    probe = "pintu-probe-%d" % os.getpid()
    result = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if result.returncode:
        return "ip netns add failed: %s" % result.stderr.strip()
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Network:
    """A /24 of hosts: add(name) -> its address; exec_prefix(name) runs a command there; cut(name)/join(name)."""

    def __init__(self):
        tag = os.getpid() % 100000
        self.prefix = "p%d" % tag  # interface names are at most 15 characters
        self.subnet = "10.%d.%d" % (100 + tag // 250 % 100, tag % 250)
        self.bridge_ns = self.prefix + "-net"
        self.hosts = {}
        self._next = 2
        _ip("netns", "add", self.bridge_ns)
        _ip("-n", self.bridge_ns, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.bridge_ns, "link", "set", "br0", "up")
        # This process's namespace, at .1
        self._veth(None, self.prefix + "-h", self.prefix + "-hb", self.subnet + ".1")

    def _veth(self, ns, inside, outside, address):
        _ip("link", "add", inside, "type", "veth", "peer", "name", outside)
        _ip("link", "set", outside, "netns", self.bridge_ns)
        _ip("-n", self.bridge_ns, "link", "set", outside, "master", "br0", "up")
        where = ["-n", ns] if ns else []
        if ns:
            _ip("link", "set", inside, "netns", ns)
            _ip(*where, "link", "set", "lo", "up")
        _ip(*where, "addr", "add", address + "/24", "dev", inside)
        _ip(*where, "link", "set", inside, "up")

    def add(self, name):
        ns = "%s-%s" % (self.prefix, name)
        address = "%s.%d" % (self.subnet, self._next)
        self._next += 1
        _ip("netns", "add", ns)
        self._veth(ns, "%s-%s" % (self.prefix, name[:4]), "%s-%sb" % (self.prefix, name[:4]), address)
        self.hosts[name] = (ns, address)
        return address

    def exec_prefix(self, name):
        return ["ip", "netns", "exec", self.hosts[name][0]]

    def cut(self, name, up=False):
        """The host's only link down (up=True: back): its connections stall, nobody is told."""
        ns = self.hosts[name][0]
        _ip("-n", ns, "link", "set", "%s-%s" % (self.prefix, name[:4]), "up" if up else "down")

    def join(self, name):
        self.cut(name, up=True)

    def close(self):
        for ns, _ in self.hosts.values():
            subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.prefix + "-h"], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.bridge_ns], capture_output=True)
