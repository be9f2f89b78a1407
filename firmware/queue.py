"""The offline queue: scans made without a host, kept on flash until they can be replayed as QUEUED.

File layout: records appended one after another, each `length (u16) | crc16 (u16) | payload`, payload
`scan (u32) | time_s (u32) | direction (u8) | door length (u8) | door | code`. A power cut while appending leaves a
truncated last record: load() stops at the first record that is short or fails its CRC and rewrites the file
without it, so the cut loses at most the record being written. Removing the oldest record rewrites the rest to a
temporary file that is renamed over the queue (atomic on LittleFS). Only record sizes are kept in RAM.

The held scan (file `<name>.held`, one record in the same layout): the scan whose SCAN is out, written (atomically)
before the frame leaves the unit and removed once its verdict is shown. A reset at any moment therefore leaves it on
flash, and load() queues it: its QUEUED replay lets the host undo an admission nobody saw (the door stayed shut)."""

import struct

from pintu_protocol import crc16

_HEAD = ">HH"
_FIXED = ">IIBB"
_CHUNK = 512


class Record:
    __slots__ = ("scan", "time_s", "direction", "door", "code")

    def __init__(self, scan, time_s, direction, door, code):
        self.scan = scan
        self.time_s = time_s
        self.direction = direction
        self.door = door
        self.code = code


def encode(record):
    door = record.door.encode()
    payload = struct.pack(_FIXED, record.scan, record.time_s, record.direction, len(door)) + door + record.code
    return struct.pack(_HEAD, len(payload), crc16(payload)) + payload


def decode(payload):
    scan, time_s, direction, door_len = struct.unpack_from(_FIXED, payload, 0)
    door = bytes(payload[10 : 10 + door_len]).decode()
    return Record(scan, time_s, direction, door, bytes(payload[10 + door_len :]))


class OfflineQueue:
    def __init__(self, files, capacity, name="queue"):
        self._files = files
        self._name = name
        self.capacity = capacity
        self.dropped = 0  # oldest records pushed out by a full queue, plus damaged ones found at load
        self._sizes = []
        self._dirty = False
        self.load()

    def __len__(self):
        return len(self._sizes)

    def load(self):
        self._sizes = []
        total = self._files.size(self._name)
        pos = 0
        while pos + 4 <= total:
            length, crc = struct.unpack(_HEAD, self._files.read_at(self._name, pos, 4))
            if pos + 4 + length > total or length < 10:
                break
            if crc16(self._files.read_at(self._name, pos + 4, length)) != crc:
                break
            self._sizes.append(4 + length)
            pos += 4 + length
        if total > pos:  # a record cut short by a power cut (or damaged): rewrite the file without it
            self.dropped += 1
            self._rewrite(0, pos)
        held = self._files.read(self._name + ".held")
        if held is not None:
            # Written atomically, so whole unless damaged. Already queued when the reset came between the append of
            # a timed-out scan and the release: then it is the queue's last record, byte for byte.
            length, crc = struct.unpack_from(_HEAD, held) if len(held) >= 14 else (0, 0)
            if length == len(held) - 4 and crc == crc16(held[4:]) and not (
                    pos >= len(held) and self._files.read_at(self._name, pos - len(held), len(held)) == held):
                self.append(decode(held[4:]))
            self.release()

    def _copy(self, start, end):
        while start < end:
            n = min(_CHUNK, end - start)
            yield self._files.read_at(self._name, start, n)
            start += n

    def _rewrite(self, start, end):
        if start >= end:
            self._files.remove(self._name)
        else:
            self._files.write_atomic(self._name, self._copy(start, end))

    def append(self, record):
        """Add a record; when full, the oldest is dropped first (and counted)."""
        while len(self._sizes) >= self.capacity:
            self.pop()
            self.dropped += 1
        data = encode(record)
        if self._dirty:
            self._repair()
        try:
            self._files.append(self._name, data)
        except Exception:
            # Part of the record may be on flash: cut the file back to its whole records before anything follows.
            self._dirty = True
            self._repair()
            raise
        self._sizes.append(len(data))

    def _repair(self):
        try:
            self._rewrite(0, sum(self._sizes))
            self._dirty = False
        except Exception:  # flash still failing: retried before the next append, or fixed at the next boot
            pass

    def hold(self, record):
        """On flash before the scan's SCAN leaves the unit; raises if the flash write fails (then send nothing)."""
        self._files.write_atomic(self._name + ".held", encode(record))

    def release(self):
        """The held scan's verdict was shown, or the scan is queued: nothing is left to reconcile."""
        self._files.remove(self._name + ".held")

    def peek(self):
        """The oldest record, or None."""
        if not self._sizes:
            return None
        return decode(self._files.read_at(self._name, 4, self._sizes[0] - 4))

    def pop(self):
        if not self._sizes:
            return
        first = self._sizes[0]
        self._rewrite(first, sum(self._sizes))  # raises before anything changes if the flash write fails
        self._sizes.pop(0)
