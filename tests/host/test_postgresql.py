"""`pintu init --database`: the records in PostgreSQL, the keys in the data directory; what the data directory
refuses. (The rest of the host suite runs on both backends through the `backend` fixture, tests/conftest.py.)"""

import json
import os
import stat

import pytest
from click.testing import CliRunner

from pintu import registry
from pintu.cli import main
from pintu.data.datadir import CONFIG_NAME, DB_NAME, ISSUING_KEY_NAME, NIK_KEY_NAME, DataDir
from pintu.errors import PintuError
from tests.conftest import create_postgres_database, drop_postgres_database

from .conftest import NIK


@pytest.fixture
def url():
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


def test_init_database_keeps_keys_here_and_the_url_owner_only(tmp_path, url):
    folder = tmp_path / "d"
    result = CliRunner().invoke(main, ["--data", str(folder), "init", "--database", url])
    assert result.exit_code == 0, result.output
    assert {CONFIG_NAME, NIK_KEY_NAME, ISSUING_KEY_NAME} <= set(os.listdir(folder))
    assert not (folder / DB_NAME).exists()
    for name in (CONFIG_NAME, NIK_KEY_NAME, ISSUING_KEY_NAME):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert json.loads((folder / CONFIG_NAME).read_text()) == {"database": url}
    with DataDir(folder) as data:
        assert data.store.backend == "postgresql"
        registry.add_site(data, "kantor", "Kantor", 3, "full", "", "8h")
        registry.add_person(data, NIK["budi"], "Budi")
    # Another process (here a new DataDir) sees the same records through the URL.
    with DataDir(folder) as data:
        assert [row["id"] for row in data.store.list_sites()] == ["kantor"]
        dump = data.store.dump()
        assert NIK["budi"] not in dump and "kantor" in dump
    again = CliRunner().invoke(main, ["--data", str(folder), "init", "--database", url])
    assert again.exit_code == 0 and "already initialised" in again.output


def test_a_database_of_another_data_dir_is_refused(tmp_path, url):
    DataDir.init(tmp_path / "first", database=url)[0].close()
    # Its NIK hashes and cards belong to the first folder's keys: a second folder must not share them.
    with pytest.raises(PintuError, match="already holds pintu data"):
        DataDir.init(tmp_path / "second", database=url)
    with pytest.raises(PintuError, match="already has a database"):
        DataDir.init(tmp_path / "first", database=url + "_other")


@pytest.mark.parametrize("bad", ["mysql://x/y", "/tmp/x.db", "postgresql"])
def test_init_refuses_what_is_not_a_postgresql_url(tmp_path, bad):
    result = CliRunner().invoke(main, ["--data", str(tmp_path / "d"), "init", "--database", bad])
    assert result.exit_code == 2 and "postgresql://" in result.stderr
    assert not (tmp_path / "d").exists()


def test_unreachable_server_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["--data", str(tmp_path / "d"), "init", "--database",
                                       "postgresql://postgres@127.0.0.1:1/none"])
    assert result.exit_code == 2 and "cannot reach PostgreSQL" in result.stderr
    assert "Traceback" not in result.output
