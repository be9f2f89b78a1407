"""The registry: sites, doors and units (sites.py), persons with their doses and status (persons.py), unit
provisioning and broker files (provision.py, broker.py), and cards (cards.py).

The functions of sites.py and persons.py are re-exported here: `registry.add_site(...)`, `registry.find_person(...)`.
"""

from pintu.registry.persons import (
    IMPORT_COLUMNS,
    add_dose,
    add_person,
    find_person,
    import_persons,
    person_dict,
    read_import_file,
    set_status,
    show_person,
)
from pintu.registry.sites import (
    DEFAULT_HOLD,
    DEFAULT_MAX_STAY,
    add_device,
    add_door,
    add_site,
    device_dict,
    device_seen,
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
