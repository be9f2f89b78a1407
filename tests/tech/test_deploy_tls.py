"""`pintu deploy` for a TLS unit (issue 18): the CA travels inside pintu.json, so the board gets the same files as a
plain MQTT unit, and the log names the CA's SHA-256."""

import base64
import hashlib
import json

from pintu.registry import provision
from pintu.registry import tls as tls_mod
from pintu.tech import manifest
from tests.gateway.conftest import make_office


def test_a_tls_unit_needs_no_other_file_and_its_config_carries_the_ca(tmp_path):
    office = make_office(tmp_path / "data")
    provision.broker_config(office.data, tmp_path / "broker", tls=True, names=["broker.kantor"])
    for device, tls in (("door-t", True), ("door-p", False)):
        provision.add_unit(office.data, device, "lobby", "mqtt", "office", "pw", "broker.kantor", tls=tls)
    office.data.close()
    files = {}
    for device in ("door-t", "door-p"):
        cfg, path = manifest.device_config(office.path, device)
        files[device] = manifest.board_files(cfg, path.read_bytes())
    assert [f.target for f in files["door-t"]] == [f.target for f in files["door-p"]]
    board_cfg = json.loads(next(f.data for f in files["door-t"] if f.target == "/pintu.json"))
    der = base64.b64decode(board_cfg["link"]["tls"]["ca"])
    assert der == tls_mod.ca_der(office.path)
    assert board_cfg["link"]["port"] == 8883 and board_cfg["link"]["broker"] == "broker.kantor"
    cfg, _ = manifest.device_config(office.path, "door-t")
    assert manifest.tls_note(cfg).endswith(hashlib.sha256(der).hexdigest())
    assert manifest.tls_note(manifest.device_config(office.path, "door-p")[0]) is None
