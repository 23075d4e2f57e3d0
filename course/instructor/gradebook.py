"""The course's gradebook: the one place that knows where it lives and opens it.

The gradebook is wherever nbgrader's ``db_url`` says (``c.CourseDirectory.db_url``
in ``nbgrader_config.py``): by default the SQLite file ``gradebook.db`` in the
course directory; for a large class or several graders a PostgreSQL database,
``postgresql://USER@HOST:5432/DATABASE`` (psycopg 3; keep the password out of the
URL, in ``~/.pgpass`` of the machine that runs the steps). Every step opens
nbgrader's :class:`~nbgrader.api.Gradebook` through :func:`open_gradebook`, so
every step honours it; with PostgreSQL no ``gradebook.db`` is ever written.

Two things nbgrader's schema has no place for live in a table of the same
database, ``course_grading``: the grading seed of each submission (re-grades
reuse it unless ``--seed`` is given) and, with :func:`manual_grades`, which
scores a grader entered by hand.
"""

import os
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.exc
from nbgrader.api import Assignment, Base, Gradebook, GradeCell, MissingEntry, Notebook, SolutionCell, \
    SourceCell, TaskCell, get_alembic_version
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.engine import make_url
from traitlets.config.loader import PyFileConfigLoader

from .tools import PipelineError

__all__ = ["GradebookError", "db_url", "gradebook_path", "has_gradebook", "open_gradebook", "open_url",
           "roster", "stored_seed", "stored_seeds", "store_seed", "manual_grades", "copy_assignments",
           "schema_version", "ensure_seed_table"]


class GradebookError(PipelineError):
    """The gradebook could not be opened; the message names it (without a password) and says why."""


def _config(root):
    path = Path(root) / "nbgrader_config.py"
    if not path.exists():
        return None
    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


def db_url(root):
    """The gradebook's SQLAlchemy URL for the course directory ``root``, as nbgrader resolves it.

    ``c.CourseDirectory.db_url`` from ``root/nbgrader_config.py``, else nbgrader's
    default ``sqlite:///<root>/gradebook.db``.
    """
    config = _config(root)
    kwargs = {"config": config} if config is not None else {}
    coursedir = CourseDirectory(**kwargs)
    coursedir.root = str(Path(root).resolve())  # the course directory asked about, wherever the config says
    return coursedir.db_url


def _is_sqlite(url):
    return url.startswith("sqlite:")


def gradebook_path(root):
    """The SQLite file of the gradebook of ``root``, or ``None`` when the gradebook is a server's."""
    url = db_url(root)
    if not _is_sqlite(url):
        return None
    return Path(make_url(url).database)


def has_gradebook(root):
    """Whether the course ``root`` has a gradebook yet (opening a SQLite one creates the file).

    A database server's gradebook counts as existing: it is the server's to create.
    """
    path = gradebook_path(root)
    return path is None or path.exists()


def _safe(url):
    return make_url(url).render_as_string(hide_password=True)


def open_url(url):
    """nbgrader's :class:`~nbgrader.api.Gradebook` at ``url`` (a context manager), with clear errors."""
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH for a new database
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bindir, os.environ.get("PATH", "")])
    try:
        return Gradebook(url)
    except sqlalchemy.exc.OperationalError as err:
        reason = " ".join(str(getattr(err, "orig", err)).split())[:300]
        raise GradebookError(f"could not open the gradebook at {_safe(url)}: {reason}") from None
    except ModuleNotFoundError as err:
        raise GradebookError(f"could not open the gradebook at {_safe(url)}: its database driver "
                             f"{err.name!r} is not installed (postgresql:// URLs use psycopg 3, "
                             "postgresql+psycopg2:// URLs psycopg2)") from None


def open_gradebook(root):
    """nbgrader's :class:`~nbgrader.api.Gradebook` of the course directory ``root`` (a context manager)."""
    return open_url(db_url(root))


def roster(root, assignment):
    """Every student: those in the gradebook plus those with a submission folder."""
    students = {p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}") if p.is_dir()}
    if has_gradebook(root):
        with open_gradebook(root) as gb:
            students |= {s.id for s in gb.students}
    return sorted(students)


# -- what nbgrader's schema has no place for -----------------------------------------------------

def _table(gb):
    """The ``course_grading`` table (assignment, student, seed) of ``gb``'s database, created if needed
    (checked once per open gradebook: the check is a query)."""
    table = getattr(gb, "_course_grading", None)
    if table is None:
        meta = sa.MetaData()
        table = sa.Table("course_grading", meta,
                         sa.Column("assignment", sa.String(128), primary_key=True),
                         sa.Column("student", sa.String(128), primary_key=True),
                         sa.Column("seed", sa.BigInteger, nullable=False))
        meta.create_all(gb.engine, checkfirst=True)
        gb._course_grading = table
    return table


def ensure_seed_table(gb):
    """Create the ``course_grading`` table of ``gb`` if needed, in a transaction of its own: call it
    before writing seeds with ``store_seed(..., commit=False)`` (with SQLite a table created beside
    an open write transaction would wait for its lock)."""
    _table(gb)


def stored_seeds(gb, assignment):
    """``{student: seed}`` of the submissions of ``assignment`` graded so far (gradebook ``gb``)."""
    table = _table(gb)
    rows = gb.db.execute(sa.select(table.c.student, table.c.seed).where(table.c.assignment == assignment))
    return {student: int(seed) for student, seed in rows}


def stored_seed(root, assignment, student):
    """The seed ``student``'s submission of ``assignment`` was last graded with, or ``None``."""
    with open_gradebook(root) as gb:
        return stored_seeds(gb, assignment).get(student)


def store_seed(gb, assignment, student, seed, commit=True):
    """Record the seed of a graded submission (replacing the previous one).

    In ``gb``'s session: with ``commit=False`` it becomes part of the caller's transaction
    (autograde's merge commits a submission's scores and its seed together).
    """
    table = _table(gb)
    gb.db.execute(sa.delete(table).where((table.c.assignment == assignment) & (table.c.student == student)))
    gb.db.execute(sa.insert(table).values(assignment=assignment, student=student, seed=int(seed)))
    if commit:
        gb.db.commit()


def manual_grades(gb, assignment, student):
    """``{(notebook, grade cell): score}`` of the scores a grader entered by hand (nbgrader's formgrader
    or the API) for ``student``'s submission of ``assignment``; they override the automatic ones.

    Empty when there is no submission. The export marks these scores as manual.
    """
    try:
        sub = gb.find_submission(assignment, student)
    except MissingEntry:
        return {}
    return {(nb.name, g.name): g.manual_score for nb in sub.notebooks for g in nb.grades
            if g.manual_score is not None}


_EMPTY = {}  # schema version -> bytes of an empty SQLite gradebook


def schema_version(gb):
    """The nbgrader schema (alembic) version ``gb``'s database is stamped with."""
    try:
        with gb.engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sqlalchemy.exc.DBAPIError:  # no such table: a database nbgrader did not create
        version = None
    return version or get_alembic_version()  # nbgrader's own answer (runs `alembic heads`: a second)


def _empty_sqlite(version):
    """The bytes of a new, empty SQLite gradebook stamped with schema ``version``.

    Made as nbgrader's :class:`~nbgrader.api.Gradebook` makes a new database (its tables,
    then the ``alembic_version`` stamp), once per process and version; the version comes
    from the course's gradebook, so no ``alembic`` process runs (nbgrader starts one per
    new database to ask it, a second of CPU).
    """
    if version not in _EMPTY:
        with tempfile.TemporaryDirectory(prefix="course-gradebook-") as tmp:
            path = Path(tmp) / "gradebook.db"
            engine = sa.create_engine(f"sqlite:///{path}")
            try:
                Base.metadata.create_all(bind=engine)
                with engine.begin() as conn:
                    conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                    conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                                 {"v": version})
            finally:
                engine.dispose()
            _EMPTY[version] = path.read_bytes()
    return _EMPTY[version]


def copy_assignments(gb, names, path):
    """Write a new SQLite gradebook at ``path`` holding the assignments ``names`` of ``gb``
    (notebooks and cells, no students or submissions): what a worker's nbgrader needs to
    autograde, and nothing else."""
    Path(path).write_bytes(_empty_sqlite(schema_version(gb)))
    with open_url(f"sqlite:///{path}") as out:
        for name in names:
            a = gb.find_assignment(name)
            out.check_course(course_id=a.course_id)
            copy = Assignment(name=name, duedate=a.duedate, course_id=a.course_id)
            rows = [copy]
            for nb in a.notebooks:
                n = Notebook(name=nb.name, assignment=copy, kernelspec=nb.kernelspec)
                rows.append(n)
                rows += [GradeCell(name=c.name, max_score=c.max_score, cell_type=c.cell_type, notebook=n)
                         for c in nb.grade_cells]
                rows += [SolutionCell(name=c.name, notebook=n) for c in nb.solution_cells]
                rows += [TaskCell(name=c.name, max_score=c.max_score, cell_type=c.cell_type, notebook=n)
                         for c in nb.task_cells]
                rows += [SourceCell(name=c.name, cell_type=c.cell_type, locked=c.locked, source=c.source,
                                    checksum=c.checksum, notebook=n) for c in nb.source_cells]
            out.db.add_all(rows)  # SQLAlchemy 2 adds no related object by itself
        out.db.commit()
