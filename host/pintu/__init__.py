"""Pintu host: registry, policy, gateway and the operator CLI."""
