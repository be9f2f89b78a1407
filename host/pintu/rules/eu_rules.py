"""The EU common business rules for a verified, schema-valid certificate, and its standing under a site's policy.

Two kinds of rule, each naming its clause (eHealth Network / EU DCC business rules, ehn-dcc-development
eu-dcc-business-rules: the EU template rule set and its tests):
- `check_entry`: what makes a certificate wrong whenever it is checked (another disease, a vaccination dated ahead,
  a test that is not NAAT or RAT, a sample collected after the decision time, a recovery window that does not fit
  its first positive test). A failure raises DccError: INVALID, whatever the site.
- `standing`: what depends on the decision time and the site's options (`EuRules`): the waiting period after a
  primary series, how long a test lasts, whether today lies within a recovery's df..du, which vaccines are accepted.
  The result is a policy.Standing, judged by policy.judge with the one profile table, like a registry person's.

Pure: no I/O, no clock; "now" is always a parameter.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import date, datetime, time, timedelta, timezone

from pintu.rules import policy
from pintu.rules.cose import DccError
from pintu.rules.dcc_schema import parse_date_time
from pintu_protocol.verdicts import (
    R_CERT_INVALID,
    R_OK,
    R_POSITIVE,
    R_RECOVERY_WINDOW,
    R_TEST_WINDOW,
    R_VACCINE,
)

COVID_19 = "840539006"  # value set disease-agent-targeted: the only member
TEST_NAAT = "LP6464-4"  # value set covid-19-lab-test-type: nucleic acid amplification (PCR)
TEST_RAT = "LP217198-3"  # value set covid-19-lab-test-type: rapid antigen test
TEST_TYPES = (TEST_NAAT, TEST_RAT)

# Vaccines accepted by default (VR-EU-0001 names the accepted medicinal products a site option; value set
# vaccines-covid-19-names): the EU-authorised ones and the WHO Emergency Use Listing, which covers every vaccine
# Indonesia used (CoronaVac, Sinopharm BBIBP-CorV, AstraZeneca incl. Covishield, Pfizer, Moderna, Janssen, Novavax).
EU_AUTHORISED = (
    "EU/1/20/1528",  # Comirnaty (Pfizer-BioNTech)
    "EU/1/20/1507",  # Spikevax (Moderna)
    "EU/1/21/1529",  # Vaxzevria (AstraZeneca)
    "EU/1/20/1525",  # Jcovden (Janssen)
    "EU/1/21/1618",  # Nuvaxovid (Novavax)
    "EU/1/21/1624",  # COVID-19 Vaccine Valneva
    "EU/1/21/1580",  # VidPrevtyn Beta (Sanofi)
)
WHO_EUL = (
    "Covishield",  # AstraZeneca, made by Serum Institute of India
    "BBIBP-CorV",  # Sinopharm (Beijing)
    "CoronaVac",  # Sinovac
    "Covaxin",  # Bharat Biotech
    "Covovax",  # Novavax, made by Serum Institute of India
    "NVX-CoV2373",  # Novavax before its EU number (deprecated code, still on certificates)
    "Convidecia",  # CanSino
)
ACCEPTED_VACCINES = frozenset(EU_AUTHORISED + WHO_EUL)

# A site's EU-certificate options. waiting_days: VR-EU-0003, a complete primary series protects from 14 days after
# its last dose. naat_hours / rat_hours: TR-EU-0006 (NAAT, 72 h) and TR-EU-0005 (RAT, 48 h, as in Council
# Recommendation (EU) 2021/961; Recommendation (EU) 2022/107 later shortened RAT to 24 h: a site may choose 24).
EuRules = namedtuple("EuRules", ("waiting_days", "naat_hours", "rat_hours", "vaccines"))
DEFAULT_RULES = EuRules(14, 72, 48, ACCEPTED_VACCINES)

# "Today" for a date the issuer wrote in its own time zone: a date is in the future only when it is after today's
# date everywhere, i.e. at UTC+14 (Kiribati), so a dose given this morning in Jakarta is never "tomorrow".
_EARLIEST_ZONE = timezone(timedelta(hours=14))


def latest_today(now: datetime) -> date:
    return now.astimezone(_EARLIEST_ZONE).date()


def check_entry(kind: str, entry, now: datetime) -> None:
    """Rules that make a schema-valid entry wrong at any site. Raises DccError naming the rule; never its value."""
    # GR-EU-0001: "The disease or agent targeted must be COVID-19 of the value set list."
    if entry["tg"] != COVID_19:
        raise DccError("disease", "GR-EU-0001 %s[0].tg" % kind)
    today = latest_today(now)
    if kind == "v":
        # A vaccination dated after the decision day has not happened: VR-EU-0003 measures protection from dt.
        if date.fromisoformat(entry["dt"]) > today:
            raise DccError("vaccination_date", "v[0].dt after the decision day")
    elif kind == "t":
        # TR-EU-0001: "The test type (tt) can be RAT or NAA" (serology / antibody tests are neither).
        if entry["tt"] not in TEST_TYPES:
            raise DccError("test_type", "TR-EU-0001 t[0].tt")
        # TR-EU-0005/0006 count the window from sc; a sample collected after the decision time is a forged or broken
        # date and never admits (nor alerts: it is not a result yet).
        if parse_date_time(entry["sc"]) > now:
            raise DccError("test_window", "t[0].sc after the decision time")
    elif kind == "r":
        first, valid_from, valid_until = (date.fromisoformat(entry[f]) for f in ("fr", "df", "du"))
        if first > today:
            raise DccError("recovery_window", "r[0].fr after the decision day")
        if valid_from > valid_until:
            raise DccError("recovery_window", "r[0].df after r[0].du")
        # RR-EU-0002: "The validity start date must be greater than or equal to the first positive test date +11
        # days and validity end date must be less than or equal to the first positive test date +180."
        if valid_from < first + timedelta(days=11):
            raise DccError("recovery_window", "RR-EU-0002 r[0].df before fr + 11 days")
        if valid_until > first + timedelta(days=180):
            raise DccError("recovery_window", "RR-EU-0002 r[0].du after fr + 180 days")


def dose_count(dn: int, sd: int) -> int:
    """Doses a vaccination entry counts for, on the scale the profiles use (1 first dose, 2 complete primary
    series, 3 booster), before the waiting period (see `standing`).

    - VR-EU-0002: a series is complete only when dn >= sd; an incomplete one (2/3, 3/5) counts as a first dose,
      never as "full".
    - A booster is a dose beyond a complete primary series: dn > sd, or dn >= 3 (3/3), as the EU rules read it.
    - A completed one-dose series (1/1: Janssen, or one dose after a recovery) is a complete primary series, and a
      dose after it a booster: 1/1 -> 2, 2/1 -> 3. Past a booster the count is dn (4/2 -> 4).
    """
    if dn < sd:
        return 1
    if sd == 1:
        return dn + 1
    return dn


def standing(certificate, *, now: datetime, rules: EuRules = DEFAULT_RULES) -> policy.Standing:
    """The certificate (hc1.Certificate) as a policy standing at the decision time, under the site's options."""
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    block = stand_in = refusal = None
    doses = 0
    for v in certificate.vaccinations:
        if v.product not in rules.vaccines:  # VR-EU-0001: only accepted vaccines count
            refusal = (R_VACCINE, "VR-EU-0001")
            continue
        count = dose_count(v.dose_number, v.series_doses)
        # VR-EU-0003: "The full vaccination protection starts up 14 days after vaccination": a complete primary
        # series counts as complete from dt + waiting period (dt read as 00:00 UTC, as CertLogic reads a date).
        # Before that it is a first dose. A booster counts from its day (the EU rules set no wait for it).
        if count == 2 and now < _midnight(v.date) + timedelta(days=rules.waiting_days):
            count = 1
        doses = max(doses, count)
    for t in certificate.tests:
        hours = rules.naat_hours if t.kind == TEST_NAAT else rules.rat_hours
        rule = "TR-EU-0006" if t.kind == TEST_NAAT else "TR-EU-0005"
        # TR-EU-0005/0006: valid while the decision time is strictly before sc + the window
        current = t.sample_time <= now < t.sample_time + timedelta(hours=hours)
        if t.positive and current:
            block = (R_POSITIVE, "positive_test")  # a positive result within its window: BLACK, the guard alerted
        elif t.negative:
            stand_in = (R_OK, "negative_test") if current else (R_TEST_WINDOW, rule)
    today = now.astimezone(timezone.utc).date()
    for r in certificate.recoveries:
        # RR-EU-0001: "The Verification Datetime must be between Certificate Valid From and Certificate Valid Until"
        # (both days included; RR-EU-0002 already bounds them by fr + 11 and fr + 180).
        stand_in = (R_OK, "recovery") if r.valid_from <= today <= r.valid_until else (R_RECOVERY_WINDOW, "RR-EU-0001")
    if not certificate.vaccinations:
        refusal = (R_CERT_INVALID, policy.NO_VACCINATION)
    return policy.Standing(doses, block, stand_in, refusal)


def _midnight(day):
    return datetime.combine(day, time(0), timezone.utc)
