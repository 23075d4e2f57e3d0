"""Reading what a learning-management system hands out: every file, and whose it is.

:func:`read_archives` opens the downloads (zip files, folders or loose files, zips inside
zips) and returns one :class:`Entry` per file, with the student it belongs to or the
reason it is skipped. Three layouts:

``canvas``
    "Download Submissions": flat files ``<name>[_LATE]_<userid>_<submissionid>_<file>``.
    The student id is the Canvas **user id**; a larger submission (attachment) id is a
    later upload; ``_LATE`` marks a late submission.
``moodle``
    "Download all submissions": folders ``<Full Name>_<participantid>_assignsubmission_file_/``
    holding the files (or flat files ``<Full Name>_<participantid>_assignsubmission_file_<file>``).
    The student id is the **participant id**, the number after "Participant" in the
    Identifier column of Moodle's grading worksheet. Folders of other submission plugins
    (``assignsubmission_onlinetext_``) are skipped.
``generic``
    nbgrader's ``FileNameCollectorPlugin.named_regexp`` (groups ``student_id``, ``file_id``,
    optional ``timestamp``), matched against ``/<path in the archive>``.

Nothing is dropped silently: macOS and system junk (``__MACOSX/``, ``._*``, ``.DS_Store``),
non-notebooks and names that fit no pattern come back with ``skip`` set to the reason.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

__all__ = ["LAYOUTS", "ArchiveError", "Entry", "read_archives", "base_name", "junk_reason"]

LAYOUTS = ("canvas", "moodle", "generic")

CANVAS = re.compile(r"^(?P<name>.*?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")
JUNK_FILES = {".ds_store": "macOS folder settings (.DS_Store)", "thumbs.db": "Windows thumbnail cache",
              "desktop.ini": "Windows folder settings"}
_SUFFIX = re.compile(r"^(?P<stem>.*?)(?:-(?P<dash>\d+)| \((?P<paren>\d+)\))?\.ipynb$", re.IGNORECASE)
_COPY_OF = re.compile(r"^copy[ _]of[ _]", re.IGNORECASE)


class ArchiveError(RuntimeError):
    """A download that cannot be read at all (missing, or not a zip file)."""


@dataclass
class Entry:
    """One file of a download.

    ``path`` is the file's path inside the archive (``a.zip/inner/b.ipynb`` for a zip inside
    a zip), ``archive`` the download it came from. ``student`` is the LMS id (``None`` if the
    name fits no pattern), ``name`` the name the LMS gives the student, ``filename`` the
    file's own name as the student uploaded it. ``order`` sorts the uploads of one student
    oldest first. ``skip`` is ``None`` for a notebook to collect, else why it is not one.
    """

    archive: str
    path: str
    data: bytes = field(repr=False, default=b"")
    student: str | None = None
    name: str = ""
    filename: str = ""
    late: bool = False
    order: tuple = ()
    skip: str | None = None


def base_name(filename):
    """``(name, rank)``: a notebook's name without resubmission marks, and the mark's number.

    Canvas appends ``-1``, ``-2`` to a re-uploaded file, browsers and Moodle `` (1)``, Colab
    prefixes ``Copy of``; the name is lower-cased. ``aggregators (2).ipynb`` ->
    ``("aggregators.ipynb", 2)``.
    """
    name = _COPY_OF.sub("", PurePosixPath(filename).name)
    m = _SUFFIX.match(name)
    if not m:
        return name.lower(), 0
    rank = m.group("dash") or m.group("paren") or 0
    return f"{m.group('stem')}.ipynb".lower(), int(rank)


def junk_reason(parts):
    """Why the path ``parts`` (a list of names) is operating-system junk, or ``None``."""
    for part in parts[:-1]:
        if part == "__MACOSX":
            return "macOS resource data (__MACOSX/)"
        if part == ".ipynb_checkpoints":
            return "Jupyter checkpoint copy (.ipynb_checkpoints/)"
    last = parts[-1]
    if last.startswith("._"):
        return "macOS resource fork (._ file)"
    return JUNK_FILES.get(last.lower())


class _Reader:
    def __init__(self, layout, named_regexp=None):
        if layout not in LAYOUTS:
            raise ValueError(f"`lms` must be one of {', '.join(LAYOUTS)}; got {layout!r}")
        self.layout = layout
        self.regexp = None
        if layout == "generic":
            if not named_regexp:
                raise ValueError("`named_regexp` is needed for the generic layout "
                                 "(FileNameCollectorPlugin.named_regexp in nbgrader_config.py)")
            self.regexp = re.compile(named_regexp)
        self.entries = []

    # -- who owns a file ------------------------------------------------------------------------
    def owner(self, parts):
        """``(student, name, filename, late, order, rest)`` from a path, or a reason string.

        ``rest`` is the path below the part that named the student (files of a student's zip
        or folder).
        """
        if self.layout == "canvas":
            m = CANVAS.match(parts[-1])
            if not m:
                return ("file name does not fit Canvas's <name>[_LATE]_<userid>_<submissionid>_<file>")
            return (m["uid"], m["name"], m["file"], bool(m["late"]), (int(m["sid"]),))
        if self.layout == "moodle":
            for k, part in enumerate(parts):
                m = MOODLE.match(part)
                if m:
                    if m["plugin"] != "file":
                        return f"Moodle {m['plugin']} submission, not an uploaded file"
                    inner = parts[k + 1:]
                    if m["file"]:  # flat layout: <Name>_<id>_assignsubmission_file_<file>
                        inner = [m["file"]] + inner
                    if not inner:
                        return "empty Moodle submission folder"
                    return (m["pid"], m["name"], "/".join(inner), False, ())
            return "path does not fit Moodle's <Full Name>_<participantid>_assignsubmission_file_/<file>"
        # NFC: a zip made on macOS spells "zoë" as "zoe" + a combining diaeresis; one student either way
        m = self.regexp.match(unicodedata.normalize("NFC", "/" + "/".join(parts)))
        if not m or not m.groupdict().get("student_id") or not m.groupdict().get("file_id"):
            return "file name does not match FileNameCollectorPlugin.named_regexp in nbgrader_config.py"
        stamp = m.groupdict().get("timestamp") or ""
        return (m["student_id"], "", m["file_id"], False, (stamp,))

    # -- walking the archives -------------------------------------------------------------------
    def add(self, archive, path, data, skip=None, **owner):
        self.entries.append(Entry(archive=archive, path=path, data=data, skip=skip, **owner))

    def file(self, archive, prefix, parts, data, inherited=None):
        """One file at ``parts`` (inside ``prefix``); ``inherited`` is the owner of a student's zip."""
        path = "/".join(prefix + parts)
        junk = junk_reason(parts)
        if junk:
            self.add(archive, path, data, skip=junk, **(inherited or {}))
            return
        if inherited is not None:
            who = dict(inherited, filename=parts[-1])
        else:
            found = self.owner(parts)
            if isinstance(found, str):
                if parts[-1].lower().endswith(".zip"):  # a zip of downloads: look inside
                    self.zipped(archive, prefix + parts, data, None, path)
                else:
                    self.add(archive, path, data, skip=found)
                return
            student, name, filename, late, order = found
            who = dict(student=student, name=name, filename=filename, late=late, order=order)
        if who["filename"].lower().endswith(".zip"):
            self.zipped(archive, prefix + parts, data, who, path)
        elif not who["filename"].lower().endswith(".ipynb"):
            suffix = PurePosixPath(who["filename"]).suffix or "no extension"
            self.add(archive, path, data, skip=f"not a notebook ({suffix})", **who)
        else:
            rank = base_name(who["filename"])[1]
            self.add(archive, path, data, **dict(who, order=tuple(who["order"]) + (rank,)))

    def zipped(self, archive, prefix, data, who, path):
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            members = [i for i in zf.infolist() if not i.is_dir()]
            contents = [(i.filename, zf.read(i)) for i in members]
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
            self.add(archive, path, data, skip=f"a zip inside the download that cannot be opened "
                                                f"({type(err).__name__}: {err})", **(who or {}))
            return
        for name, content in contents:
            inner = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
            if who is None:
                self.file(archive, prefix, inner, content)
            else:
                self.file(archive, prefix, inner, content, inherited=dict(who, filename=inner[-1]))

    def archive(self, item):
        item = Path(item)
        if not item.exists():
            raise ArchiveError(f"{item} does not exist")
        if item.is_dir():
            for f in sorted(p for p in item.rglob("*") if p.is_file()):
                self.file(item.name, [], list(f.relative_to(item).parts), f.read_bytes())
            return
        data = item.read_bytes()
        if item.suffix.lower() == ".zip" or zipfile.is_zipfile(item):
            try:
                zf = zipfile.ZipFile(io.BytesIO(data))
                contents = [(i.filename, zf.read(i)) for i in zf.infolist() if not i.is_dir()]
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as err:
                raise ArchiveError(f"{item} cannot be read as a zip file ({type(err).__name__}: {err})") from err
            for name, content in contents:
                parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
                self.file(item.name, [], parts, content)
            return
        self.file(item.name, [], [item.name], data)  # a loose file from the LMS


def read_archives(archives, layout, named_regexp=None):
    """Every file of the downloads ``archives`` as :class:`Entry` objects, in archive order.

    Parameters
    ----------
    archives : list of paths
        Zip files, folders (an unpacked download) or single files.
    layout : {"canvas", "moodle", "generic"}
        The LMS that made the download (see the module docstring).
    named_regexp : str, optional
        nbgrader's ``FileNameCollectorPlugin.named_regexp``; needed for ``generic``.

    Raises
    ------
    ArchiveError
        If a download does not exist or is not a readable zip file. (A broken zip *inside*
        a download is an entry with ``skip`` set, not an error.)
    ValueError
        If ``layout`` is not one of :data:`LAYOUTS`.
    """
    reader = _Reader(layout, named_regexp)
    for item in archives:
        reader.archive(item)
    return reader.entries
