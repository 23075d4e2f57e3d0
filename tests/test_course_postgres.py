"""The gradebook on a real PostgreSQL server (issue 17).

Every step honours nbgrader's ``db_url`` from ``nbgrader_config.py``: the whole flow
(release -> collect -> autograde -> feedback -> export) run against a throw-away PostgreSQL
server (tests/services.py) gives the same export and feedback as the same flow on the default
SQLite gradebook, and writes no ``gradebook.db``. Skipped, with the reason, only where a server
truly cannot start.
"""

import re
from pathlib import Path

import pytest
from course_small import ASSIGNMENT, BATCH, TIMEOUT, export_table, new_course, write_batch
from services import PostgresServer, ServiceError

from course.checks import DEFAULT_SEED
from course.cli import main
from course.instructor import gradebook

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pg():
    try:
        server = PostgresServer().start()
    except ServiceError as err:
        pytest.skip(f"cannot start a PostgreSQL server here: {err}")
    yield server
    server.stop()


def _flow(base, db_url=None):
    """release -> collect -> autograde -> feedback -> export in ``base/course``, through the CLI."""
    root = new_course(base / "course", db_url)  # release
    download = base / "download"
    write_batch(root, folder=download)
    assert main(["--root", str(root), "collect", ASSIGNMENT, "--from", str(download)]) == 0
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--workers", "2",
                 "--timeout", str(TIMEOUT)]) == 0
    assert main(["--root", str(root), "feedback", ASSIGNMENT]) == 0
    return root, export_table(root)


def _feedback(root):
    """``{file: its visible text}`` of the feedback; tags and whitespace dropped, because the kernel
    splits a cell's printout into stream outputs differently from run to run."""
    return {str(p.relative_to(root / "feedback")): " ".join(re.sub(r"<[^>]+>", " ", p.read_text()).split())
            for p in (root / "feedback").rglob("*.html")}


@pytest.fixture(scope="module")
def sqlite_run(tmp_path_factory):
    return _flow(tmp_path_factory.mktemp("sqlite"))


def test_db_url_defaults_to_sqlite_in_the_course(sqlite_run):
    root, _ = sqlite_run
    assert gradebook.db_url(root) == f"sqlite:///{root / 'gradebook.db'}"
    assert (root / "gradebook.db").is_file()


def test_postgres_flow_equals_sqlite_and_writes_no_gradebook_db(pg, sqlite_run, tmp_path, monkeypatch):
    url = pg.create_database("course_flow")
    base = tmp_path / "pg"
    base.mkdir()
    monkeypatch.chdir(base)  # a stray relative sqlite path would land here
    root, (header, rows) = _flow(base, url)
    assert gradebook.db_url(root) == url
    assert list(base.rglob("*.db")) == [], "a SQLite gradebook was written next to PostgreSQL"

    sqlite_root, (sqlite_header, sqlite_rows) = sqlite_run
    assert header == sqlite_header
    assert rows == sqlite_rows
    assert sorted(rows) == sorted(BATCH) and {r["status"] for r in rows.values()} == {"graded", "failed"}
    assert _feedback(root) == _feedback(sqlite_root)

    # the scores live in PostgreSQL: nbgrader's tables, one submission per collected student
    assert {"assignment", "grade", "submitted_assignment", "student"} <= set(pg.tables("course_flow"))
    with gradebook.open_gradebook(root) as gb:
        graded = {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert graded == {s for s, r in rows.items() if r["status"] == "graded"}
    assert gradebook.stored_seed(root, ASSIGNMENT, "ada") == DEFAULT_SEED


def test_stale_sqlite_file_is_ignored_with_postgres(pg, tmp_path):
    """The reported crash: a stale gradebook.db beside a PostgreSQL db_url must neither be read nor written."""
    url = pg.create_database("course_stale")
    root = new_course(tmp_path / "course", url)
    stale = root / "gradebook.db"
    stale.write_bytes(b"not a gradebook")
    write_batch(root, {"ada": "solution"})
    assert main(["--root", str(root), "autograde", ASSIGNMENT, "--workers", "1",
                 "--timeout", str(TIMEOUT)]) == 0
    assert stale.read_bytes() == b"not a gradebook"
    _, rows = export_table(root)
    assert (rows["ada"]["status"], float(rows["ada"]["score"])) == ("graded", 10)


def test_unreachable_database_is_a_clear_error(tmp_path, capsys):
    from services import free_port
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(
        (Path(__file__).resolve().parent.parent / "nbgrader_config.py").read_text()
        + f"\nc.CourseDirectory.db_url = {url!r}\n")
    with pytest.raises(gradebook.GradebookError, match="could not open the gradebook at postgresql://"):
        with gradebook.open_gradebook(root):
            pass
