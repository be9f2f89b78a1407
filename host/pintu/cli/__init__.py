"""The operator's command line, `pintu`: thin click commands over the library, one module per command family."""

from pintu.cli import checkin, guards, persons, scale, sites, units  # noqa: F401  (each registers its commands on `main`)
from pintu.cli.base import main
