"""SQL for the web console: its accounts and the sites each answers for, the BLACK alerts a guard acknowledged, and
the cheap reads its live views poll (events newer than the last one sent).

A mixin of Store and PgStore (store.py, pg_store.py), which own the connection; nothing outside data/ writes SQL.
"""

import sqlite3

from pintu.errors import PintuError


class UserSql:
    # -- accounts

    def insert_user(self, name, role, hash_text, now, site_ids):
        try:
            user_id = self._run(
                "INSERT INTO users (name, role, hash, created) VALUES (?, ?, ?, ?)", (name, role, hash_text, now)
            ).lastrowid
        except sqlite3.IntegrityError:
            raise PintuError("user %r already exists" % name) from None
        for site_id in site_ids:
            self._run("INSERT INTO user_sites (user_id, site_id) VALUES (?, ?)", (user_id, site_id))
        return user_id

    def get_user(self, user_id):
        return self._one("SELECT * FROM users WHERE id = ?", (user_id,))

    def find_user(self, name):
        return self._one("SELECT * FROM users WHERE name = ?", (name,))

    def list_users(self):
        return self._all("SELECT * FROM users ORDER BY name")

    def sites_of_user(self, user_id):
        return [row[0] for row in self._all(
            "SELECT site_id FROM user_sites WHERE user_id = ? ORDER BY site_id", (user_id,))]

    def set_user_hash(self, user_id, hash_text, new_session=True):
        """A new password hash; new_session also ends every session signed before (a password change)."""
        bump = ", sessions = sessions + 1" if new_session else ""
        return self._run("UPDATE users SET hash = ?%s WHERE id = ?" % bump, (hash_text, user_id)).rowcount

    def end_sessions(self, user_id):
        return self._run("UPDATE users SET sessions = sessions + 1 WHERE id = ?", (user_id,)).rowcount

    def disable_user(self, user_id, now):
        return self._run(
            "UPDATE users SET disabled = ?, sessions = sessions + 1 WHERE id = ? AND disabled IS NULL", (now, user_id)
        ).rowcount

    def delete_user(self, user_id):
        self._run("DELETE FROM user_sites WHERE user_id = ?", (user_id,))
        return self._run("DELETE FROM users WHERE id = ?", (user_id,)).rowcount

    # -- what the console's live views read

    def last_event_id(self):
        return self._one("SELECT COALESCE(MAX(id), 0) FROM events")[0]

    def events_after(self, after_id, site_ids, limit):
        """Events newer than after_id at the given sites, oldest first: one range scan of the primary key."""
        if not site_ids:
            return []
        marks = ", ".join("?" * len(site_ids))
        return self._all(
            "SELECT * FROM events WHERE id > ? AND site_id IN (%s) ORDER BY id LIMIT ?" % marks,
            (int(after_id), *site_ids, int(limit)),
        )

    def get_event(self, event_id):
        return self._one("SELECT * FROM events WHERE id = ?", (event_id,))

    def unacked_alerts(self, site_id, since):
        """Flagged events (BLACK alerts) at the site since `since` that nobody acknowledged, oldest first."""
        return self._all(
            "SELECT e.* FROM events e WHERE e.site_id = ? AND e.flagged = 1 AND e.time >= ?"
            " AND NOT EXISTS (SELECT 1 FROM alert_acks a WHERE a.event_id = e.id) ORDER BY e.id",
            (site_id, int(since)),
        )

    def acked_among(self, event_ids):
        ids = [int(i) for i in event_ids]
        if not ids:
            return set()
        marks = ", ".join("?" * len(ids))
        return {row[0] for row in self._all("SELECT event_id FROM alert_acks WHERE event_id IN (%s)" % marks, ids)}

    def ack_alert(self, event_id, site_id, by_user, now):
        """-> True if this acknowledged it (False: someone had already)."""
        return self._run(
            "INSERT INTO alert_acks (event_id, site_id, by_user, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (event_id) DO NOTHING",
            (event_id, site_id, by_user, now),
        ).rowcount == 1
