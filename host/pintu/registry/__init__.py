"""The registry: sites, doors and units (sites.py), persons with their doses and status (persons.py, the CSV import
in person_import.py), unit provisioning and broker files (provision.py, broker.py), cards (cards.py), and the checks
of everything an operator types (validate.py).

The functions of sites.py and persons.py are re-exported here: `registry.add_site(...)`, `registry.find_person(...)`.
"""

from pintu.registry.person_import import IMPORT_COLUMNS, import_persons, read_import_file
from pintu.registry.persons import (
    add_dose,
    add_person,
    find_person,
    list_persons,
    person_dict,
    remove_dose,
    set_status,
    show_person,
)
from pintu.registry.sites import (
    DEFAULT_HOLD,
    DEFAULT_MAX_STAY,
    DEFAULT_RETENTION,
    add_device,
    add_door,
    add_site,
    device_dict,
    device_seen,
    device_state,
    door_dict,
    get_site,
    list_devices,
    list_doors,
    list_sites,
    revoke_device,
    set_site,
    show_site,
    site_dict,
)
