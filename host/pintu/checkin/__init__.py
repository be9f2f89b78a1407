"""Check-in: reading a scanned code, the check-in transaction, and the record (events, occupancy, traces)."""

from pintu.checkin.decide import Decision, check, decide_scan, host_fault
from pintu.checkin.manual import admit, checkout, settle_hold, settle_hold_of
