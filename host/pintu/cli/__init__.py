"""The operator's command line, `pintu`: thin click commands over the library, one module per command family."""

# each module registers its commands on `main`
from pintu.cli import checkin, guards, persons, scale, sites, units, users, web  # noqa: F401
from pintu.cli.base import main
