"""Check-in: reading a scanned code, the check-in transaction, and the record (events, occupancy, traces)."""

from pintu.checkin.decide import Decision, admit, check, checkout, decide_scan, host_fault, settle_hold
