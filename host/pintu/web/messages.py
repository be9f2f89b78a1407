"""Every text the console shows, in Bahasa Indonesia (the default) and English: one catalogue, looked up by key.

Verdicts and reasons are named by the protocol's names (verdict_name, reason_name); a reason missing here is shown
by its name, never left blank.
"""

LANGS = ("id", "en")
DEFAULT_LANG = "id"

MESSAGES = {
    "id": {
        "title": "Konsol Pintu",
        "login": "Masuk", "logout": "Keluar", "user_name": "Nama pengguna", "password": "Kata sandi",
        "login_failed": "Nama atau kata sandi salah.",
        "login_throttled": "Terlalu banyak percobaan. Coba lagi dalam {seconds} detik.",
        "account": "Akun", "old_password": "Kata sandi lama", "new_password": "Kata sandi baru",
        "new_password_again": "Ulangi kata sandi baru", "change_password": "Ganti kata sandi",
        "password_changed": "Kata sandi diganti.", "passwords_differ": "Kata sandi baru tidak sama.",
        "language": "Bahasa", "door_view": "Pintu", "office_view": "Kantor", "city_view": "Kota",
        "occupancy": "Di dalam", "employees": "Pegawai", "visitors": "Tamu",
        "scans": "Pindaian", "alerts": "Peringatan", "alert_black": "AWAS: orang positif atau kontak erat di pintu",
        "acknowledge": "Tandai sudah ditangani", "waiting": "Menunggu petugas",
        "confirm": "Konfirmasi", "refuse": "Tolak", "person": "Orang", "door": "Pintu", "time": "Waktu",
        "verdict": "Hasil", "reason": "Alasan", "shown": "Tampil di unit",
        "manual": "Tamu tanpa HP", "nik": "NIK", "decide": "Periksa dengan kebijakan",
        "admit": "Izinkan masuk", "turn_away": "Tolak", "check_out": "Keluar (check-out)",
        "manual_result": "Hasil untuk NIK {nik}: {verdict} ({reason})", "turned_away": "Ditolak, tidak dicatat.",
        "manual_expired": "Pemeriksaan sudah kedaluwarsa, periksa lagi.",
        "done": "Selesai: {verdict} ({reason}), di dalam {inside} / {capacity}",
        "today": "Hari ini", "by_hour": "Per jam dan hasil", "refusals": "Penolakan per alasan",
        "events": "Catatan", "filter": "Saring", "since": "Sejak", "limit": "Batas", "all": "Semua",
        "export_csv": "Ekspor CSV", "units": "Unit", "unit": "Unit", "state": "Status",
        "last_seen": "Terakhir terlihat", "online": "daring", "offline": "luring", "never": "belum pernah",
        "site": "Lokasi", "none": "(tidak ada)", "error": "Galat: {message}", "not_found": "Tidak ditemukan.",
        "forbidden": "Permintaan ditolak (token formulir tidak sah).", "live": "Langsung",
        "GREEN": "HIJAU", "YELLOW": "KUNING", "RED": "MERAH", "BLACK": "HITAM", "FULL": "PENUH",
        "INVALID": "TIDAK SAH", "EXIT": "KELUAR", "OFFLINE": "LURING", "HOLD": "TUNGGU", "GUARD_IDLE": "PETUGAS",
        "r_ok": "oke", "r_no_dose": "belum divaksin", "r_too_few_doses": "dosis kurang",
        "r_guard_check": "perlu dicek petugas", "r_positive": "positif", "r_contact": "kontak erat",
        "r_site_full": "penuh", "r_unreadable": "kode tak terbaca", "r_forged": "kode palsu",
        "r_revoked": "kartu dicabut", "r_unknown": "tidak dikenal", "r_expired": "kedaluwarsa",
        "r_checked_out": "keluar", "r_not_inside": "tidak di dalam", "r_already_inside": "sudah di dalam",
        "r_host_fault": "gangguan host", "r_hold_expired": "waktu tunggu habis",
        "r_guard_confirmed": "dikonfirmasi petugas", "r_guard_refused": "ditolak petugas",
        "r_nothing_pending": "tidak ada yang menunggu",
    },
    "en": {
        "title": "Pintu console",
        "login": "Log in", "logout": "Log out", "user_name": "User name", "password": "Password",
        "login_failed": "Wrong name or password.",
        "login_throttled": "Too many attempts. Try again in {seconds} seconds.",
        "account": "Account", "old_password": "Current password", "new_password": "New password",
        "new_password_again": "New password again", "change_password": "Change password",
        "password_changed": "Password changed.", "passwords_differ": "The new passwords differ.",
        "language": "Language", "door_view": "Door", "office_view": "Office", "city_view": "City",
        "occupancy": "Inside", "employees": "Employees", "visitors": "Visitors",
        "scans": "Scans", "alerts": "Alerts", "alert_black": "ALERT: a positive person or close contact at the door",
        "acknowledge": "Acknowledge", "waiting": "Waiting for the guard",
        "confirm": "Confirm", "refuse": "Refuse", "person": "Person", "door": "Door", "time": "Time",
        "verdict": "Verdict", "reason": "Reason", "shown": "Shown at the unit",
        "manual": "Visitor without a phone", "nik": "NIK", "decide": "Check with the site's policy",
        "admit": "Admit", "turn_away": "Turn away", "check_out": "Check out",
        "manual_result": "Result for NIK {nik}: {verdict} ({reason})", "turned_away": "Turned away, nothing recorded.",
        "manual_expired": "That check expired, check again.",
        "done": "Done: {verdict} ({reason}), inside {inside} / {capacity}",
        "today": "Today", "by_hour": "By hour and verdict", "refusals": "Refusals by reason",
        "events": "Record", "filter": "Filter", "since": "Since", "limit": "Limit", "all": "All",
        "export_csv": "Export CSV", "units": "Units", "unit": "Unit", "state": "State",
        "last_seen": "Last seen", "online": "online", "offline": "offline", "never": "never",
        "site": "Site", "none": "(none)", "error": "Error: {message}", "not_found": "Not found.",
        "forbidden": "Request refused (bad form token).", "live": "Live",
        "GREEN": "GREEN", "YELLOW": "YELLOW", "RED": "RED", "BLACK": "BLACK", "FULL": "FULL",
        "INVALID": "INVALID", "EXIT": "EXIT", "OFFLINE": "OFFLINE", "HOLD": "HOLD", "GUARD_IDLE": "GUARD",
        "r_ok": "ok", "r_no_dose": "no vaccine dose", "r_too_few_doses": "too few doses",
        "r_guard_check": "guard to check", "r_positive": "positive", "r_contact": "close contact",
        "r_site_full": "site full", "r_unreadable": "unreadable code", "r_forged": "forged code",
        "r_revoked": "card revoked", "r_unknown": "unknown", "r_expired": "expired",
        "r_checked_out": "checked out", "r_not_inside": "not inside", "r_already_inside": "already inside",
        "r_host_fault": "host fault", "r_hold_expired": "hold expired",
        "r_guard_confirmed": "confirmed by the guard", "r_guard_refused": "refused by the guard",
        "r_nothing_pending": "nothing pending",
    },
}


def lang_of(value):
    return value if value in LANGS else DEFAULT_LANG


def text(lang, key, **values):
    """The text for key in lang (English if the Indonesian one is missing, the key itself if both are)."""
    template = MESSAGES[lang_of(lang)].get(key) or MESSAGES["en"].get(key, key)
    return template.format(**values) if values else template


def verdict_text(lang, name):
    return text(lang, name)


def reason_text(lang, name):
    return text(lang, "r_" + name) if ("r_" + name) in MESSAGES["en"] else name


def catalogue(lang):
    return MESSAGES[lang_of(lang)]
