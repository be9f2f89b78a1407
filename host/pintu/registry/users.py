"""The web console's accounts: a name, a role, an argon2 hash of the password, and the sites a guard or an office
admin answers for (issue 19). A city admin answers for every site and is given none.

What each role may see and do is decided here (may_see, visible_sites), so the console's routes only ask.
"""

import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from pintu.errors import PintuError
from pintu.registry.sites import get_site
from pintu.registry.validate import check_choice, check_password, check_user_name
from pintu.times import show_time

CITY_ADMIN, OFFICE_ADMIN, GUARD = "city-admin", "office-admin", "guard"
ROLES = (CITY_ADMIN, OFFICE_ADMIN, GUARD)
_HASHER = PasswordHasher()  # argon2id with the library's defaults (RFC 9106's second recommended option)
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password (no name probing).
_DUMMY_HASH = _HASHER.hash("pintu: no such user")


def user_dict(row, sites):
    return {
        "user": row["id"],
        "name": row["name"],
        "role": row["role"],
        "sites": list(sites),
        "created": show_time(row["created"]),
        "disabled": None if row["disabled"] is None else show_time(row["disabled"]),
    }


def _check_sites(data, role, sites):
    sites = list(dict.fromkeys(sites or ()))
    if role == CITY_ADMIN and sites:
        raise PintuError("a city-admin answers for every site: give no --site")
    if role != CITY_ADMIN and not sites:
        raise PintuError("a %s needs at least one --site" % role)
    return [get_site(data, site)["id"] for site in sites]


def check_new_user(data, name, role, sites=()):
    """Everything about a new account but its password, checked before anyone is asked for one.
    -> (name, role, site ids)."""
    name = check_user_name(name)
    role = check_choice("role", role, ROLES)
    site_ids = _check_sites(data, role, sites)
    if data.store.find_user(name) is not None:
        raise PintuError("user %r already exists" % name)
    return name, role, site_ids


def add_user(data, name, role, password, sites=(), at=None):
    """A new console account. -> user_dict."""
    name, role, _ = check_new_user(data, name, role, sites)
    password = check_password(password)
    hash_text = _HASHER.hash(password)  # before the transaction: hashing takes tens of milliseconds
    with data.store.write():
        site_ids = _check_sites(data, role, sites)
        user_id = data.store.insert_user(name, role, hash_text, int(time.time() if at is None else at), site_ids)
        row = data.store.get_user(user_id)
    return user_dict(row, site_ids)


def list_users(data):
    return [user_dict(row, data.store.sites_of_user(row["id"])) for row in data.store.list_users()]


def find_user(data, name):
    """The account row of NAME; PintuError if there is none."""
    return _get(data, name)


def _get(data, name):
    row = data.store.find_user(check_user_name(name))
    if row is None:
        raise PintuError("unknown user %r" % name)
    return row


def set_password(data, name, password, old_password=None):
    """A new password (the CLI's `user passwd`; the console's password change gives old_password, which must match).
    Every session signed before ends."""
    password = check_password(password)
    row = _get(data, name)
    if old_password is not None and not _verify(row["hash"], old_password):
        raise PintuError("the current password is wrong")
    hash_text = _HASHER.hash(password)
    with data.store.write():
        data.store.set_user_hash(row["id"], hash_text)


def remove_user(data, name):
    """Delete the account; its sessions end with it (they name a user that no longer exists)."""
    row = _get(data, name)
    with data.store.write():
        data.store.delete_user(row["id"])
    return user_dict(row, ())


def end_sessions(data, user_id):
    """Logging out: every session of the account ends (a signed cookie copied before stays useless)."""
    with data.store.write():
        data.store.end_sessions(user_id)


def _verify(hash_text, password):
    try:
        return _HASHER.verify(hash_text, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(data, name, password):
    """The account row for a correct name and password, else None (a disabled account too). Takes as long for an
    unknown name as for a wrong password."""
    try:
        name = check_user_name(name)
    except PintuError:
        name = None
    if not isinstance(password, str) or len(password) > 256:
        return None
    row = data.store.find_user(name) if name is not None else None
    if row is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(row["hash"], password) or row["disabled"] is not None:
        return None
    if _HASHER.check_needs_rehash(row["hash"]):  # the library's parameters grew: store the stronger hash
        with data.store.write():
            data.store.set_user_hash(row["id"], _HASHER.hash(password), new_session=False)
    return row


def visible_sites(data, user_row):
    """The site ids this account may see: every site for a city admin, its own for the others."""
    if user_row["role"] == CITY_ADMIN:
        return [row["id"] for row in data.store.list_sites()]
    return data.store.sites_of_user(user_row["id"])


def may_see(data, user_row, site_id):
    """True if the account may see and act at site_id (an unknown site is never visible)."""
    if user_row["role"] == CITY_ADMIN:
        return data.store.get_site(site_id) is not None
    return site_id in data.store.sites_of_user(user_row["id"])
