"""Steps ``collect`` and ``zip-collect``: submissions into ``submitted/<student>/<assignment>/``.

``zip-collect`` reads an LMS download (:mod:`.lms`: Canvas, Moodle or nbgrader's file-name
pattern) and decides, for every file, where it goes:

- the notebook of each student is written as the assignment's notebook name; a student's
  only notebook with another name (Colab's ``Copy_of_``, `` (1)``, ``exercise1.ipynb``) is
  matched to a one-notebook assignment, and the report says so;
- of several uploads for one notebook, the newest is graded (Canvas: the larger submission
  id; then the ``-1``/`` (1)`` suffix); the others are *kept aside* in
  ``downloaded/<assignment>/kept-aside/<student>/``, never deleted;
- junk (``__MACOSX/``, ``._*``, ``.DS_Store``), non-notebooks and files whose name fits no
  pattern are *skipped*, each with its reason;
- a later download adds new students and replaces a submission by a newer one (the
  replaced file is kept aside); the same file again is ``unchanged``.

Every run writes ``downloaded/<assignment>/collect-report.csv`` (one row per file:
archive, file, student, name, action, detail), appends it to ``collect-history.csv``, and
records the collected submissions in ``downloaded/<assignment>/collected.json`` (file,
archive, LMS, lateness, notes, time), which the export reads.
"""

import csv
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from . import lms as lms_
from .roster import load_roster
from .tools import PipelineError, nbgrader

__all__ = ["collect", "zip_collect", "collect_entries", "Collected", "expected_notebooks", "load_collected",
           "REPORT_FIELDS"]

REPORT_FIELDS = ["archive", "file", "student", "name", "action", "detail"]


@dataclass
class Collected:
    """The outcome of one collect run: the report rows and what they add up to."""

    assignment: str
    rows: list = field(default_factory=list)
    report: Path | None = None

    def students(self, *actions):
        actions = actions or ("collected", "replaced", "unchanged")
        return sorted({r["student"] for r in self.rows if r["action"] in actions and r["student"]})

    def count(self, action):
        return sum(1 for r in self.rows if r["action"] == action)

    def summary(self):
        """The lines ``python -m course zip-collect`` prints after the report."""
        new, replaced, same = (len(self.students(a)) for a in ("collected", "replaced", "unchanged"))
        lines = [f"collected {len(self.students())} students for {self.assignment} "
                 f"({new} new, {replaced} replaced, {same} unchanged); "
                 f"{self.count('kept aside')} files kept aside, {self.count('skipped')} skipped"]
        if self.report:
            lines.append(f"report: {self.report}")
        return lines


def expected_notebooks(root, assignment):
    """The notebook names of ``assignment`` (from the release, else from the source)."""
    for folder in ("exercises", "solutions"):
        names = sorted(p.name for p in (Path(root) / folder / assignment).glob("*.ipynb"))
        if names:
            return names
    known = sorted(p.name for p in (Path(root) / "solutions").iterdir() if p.is_dir()) \
        if (Path(root) / "solutions").is_dir() else []
    raise PipelineError(f"no assignment {assignment!r}: neither exercises/{assignment}/ nor "
                        f"solutions/{assignment}/ holds a notebook (assignments: {', '.join(known) or 'none'})")


def _folder(root, assignment):
    return Path(root) / "downloaded" / assignment


def load_collected(root, assignment):
    """``{student: record}`` of the submissions collected so far (``collected.json``)."""
    path = _folder(root, assignment) / "collected.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _unique(path):
    """``path``, or ``name (2).ext`` ... if it exists."""
    k = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem} ({k}){path.suffix}")
        k += 1
    return candidate


def _choose(entries, expected, assignment):
    """Match one student's notebooks to the notebook slots of the assignment.

    Returns ``({slot: (chosen, note)}, [(entry, reason) kept aside])``.
    """
    slots = {lms_.base_name(name)[0]: name for name in expected}
    candidates, others = {}, []
    for e in entries:
        slot = slots.get(lms_.base_name(e.filename)[0])
        if slot:
            candidates.setdefault(slot, []).append(e)
        else:
            others.append(e)
    kept = []
    if len(expected) == 1 and not candidates and others:
        candidates[expected[0]] = others
        others = []
    for e in others:
        kept.append((e, f"notebook `{e.filename}` is not part of {assignment}; expected {', '.join(expected)}"))
    chosen = {}
    for slot, group in candidates.items():
        newest = max(range(len(group)), key=lambda k: (group[k].order, k))
        pick = group[newest]
        note = ""
        if pick.filename != slot:
            exact = lms_.base_name(pick.filename)[0] == lms_.base_name(slot)[0]
            note = (f"uploaded as `{pick.filename}`, graded as {slot}" if exact else
                    f"notebook `{pick.filename}` is not named like {assignment}'s {slot}; it is the student's "
                    f"only notebook, so it is graded as {slot}")
        chosen[slot] = (pick, note)
        for k, e in enumerate(group):
            if k != newest:
                kept.append((e, f"an older upload than `{pick.filename}`, the newer one is graded"))
    return chosen, kept


def _comparable(layout, before, entry):
    """Whether an upload's order says which of two downloads holds the newer file.

    Canvas's submission ids grow over the whole course, and a generic ``timestamp`` group is a
    time; Moodle's downloads hold only the current submission (a `` (1)`` suffix orders files
    within one download, not across downloads), so a later Moodle download always replaces.
    """
    if before.get("lms") != layout:
        return False
    if layout == "canvas":
        return True
    return layout == "generic" and bool(before.get("order", [""])[0]) and bool(entry.order[0])


def collect_entries(root, assignment, entries, layout):
    """Collect the :class:`~.lms.Entry` objects of one run; return a :class:`Collected`."""
    root = Path(root)
    expected = expected_notebooks(root, assignment)
    folder = _folder(root, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = load_collected(root, assignment)
    known = set(load_roster(root)["students"])
    result = Collected(assignment)
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
    row_of = {}

    def row(e, action, detail, student=None):
        r = {"archive": e.archive, "file": e.path, "student": student or "", "name": e.name,
             "action": action, "detail": detail}
        row_of[id(e)] = r
        return r

    def keep_aside(student, filename, data):
        target = folder / "kept-aside" / student
        same = [p for p in target.glob("*") if p.is_file() and p.read_bytes() == data] if target.is_dir() else []
        if same:  # the same file kept aside by an earlier run
            return same[0]
        dest = _unique(target / Path(filename).name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return dest

    by_student = {}
    for e in entries:
        if e.skip is not None:
            whose = f" (from student {e.student})" if e.student else ""
            row(e, "skipped", e.skip + whose)
        else:
            by_student.setdefault(e.student, []).append(e)

    for student, group in sorted(by_student.items()):
        chosen, kept = _choose(group, expected, assignment)
        for e, reason in kept:
            path = keep_aside(student, e.filename, e.data)
            row(e, "kept aside", f"{reason}; kept in {path.relative_to(root)}", student)
        record = manifest.get(student, {"slots": {}})
        record.setdefault("slots", {})
        changed = False
        for slot, (e, note) in sorted(chosen.items()):
            dest = root / "submitted" / student / assignment / slot
            before = record["slots"].get(slot)
            detail = [note] if note else []
            if student not in known and known:
                detail.append("not on the roster (python -m course roster)")
            if before and before.get("sha256") == _sha(e.data) and dest.exists():
                row(e, "unchanged", "; ".join(detail + ["already collected from " + before["archive"]]), student)
                continue
            if before and dest.exists() and _comparable(layout, before, e) \
                    and tuple(before.get("order", ())) > tuple(e.order):
                path = keep_aside(student, e.filename, e.data)
                row(e, "kept aside", f"older than `{before['file']}` collected from {before['archive']}; "
                                     f"kept in {path.relative_to(root)}", student)
                continue
            action = "collected"
            if dest.exists():
                old = keep_aside(student, (before or {}).get("file", slot), dest.read_bytes())
                action = "replaced"
                detail.append(f"replaces `{(before or {}).get('file', slot)}` from "
                              f"{(before or {}).get('archive', 'an earlier collection')} "
                              f"(kept in {old.relative_to(root)})")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(e.data)
            record["slots"][slot] = {"file": e.filename, "archive": e.archive, "path": e.path,
                                     "order": list(e.order), "sha256": _sha(e.data), "lms": layout,
                                     "late": e.late, "note": note}
            row(e, action, "; ".join(detail), student)
            changed = True
        if changed:
            slots = record["slots"]
            record.update(name=next((e.name for e in group if e.name), record.get("name", "")), lms=layout,
                          late=any(s.get("late") for s in slots.values()),
                          file=", ".join(s["file"] for _, s in sorted(slots.items())),
                          archive=", ".join(sorted({s["archive"] for s in slots.values()})),
                          collected_at=stamp, collected_epoch=now)
            record["notes"] = [s["note"] for _, s in sorted(slots.items()) if s.get("note")]
        if any(r["action"] == "kept aside" for r in (row_of[id(e)] for e in group)):
            record["kept_aside"] = sorted(set(record.get("kept_aside", [])) | {
                e.filename for e in group if row_of[id(e)]["action"] == "kept aside"})
        if record.get("slots"):
            manifest[student] = record

    result.rows = [row_of[id(e)] for e in entries]
    (folder / "collected.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True)
                                           + "\n", encoding="utf-8")
    result.report = folder / "collect-report.csv"
    with open(result.report, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows(result.rows)
    history = folder / "collect-history.csv"
    new = not history.exists()
    with open(history, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["run"] + REPORT_FIELDS)
        if new:
            writer.writeheader()
        writer.writerows({"run": stamp, **r} for r in result.rows)
    return result


def _named_regexp(root):
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    try:
        return config.FileNameCollectorPlugin.named_regexp
    except AttributeError:
        return None


def zip_collect(root, assignment, archives, lms="generic"):
    """Collect LMS downloads ``archives`` (zips, folders or files); return a :class:`Collected`.

    ``lms`` is ``canvas``, ``moodle`` or ``generic`` (nbgrader's ``named_regexp``). The
    downloads are kept in ``downloaded/<assignment>/archive/``. Raises
    :class:`~.lms.ArchiveError` if a download cannot be read, :class:`PipelineError` if the
    assignment does not exist.
    """
    root = Path(root)
    expected_notebooks(root, assignment)  # fail early on a wrong assignment name
    regexp = _named_regexp(root) if lms == "generic" else None
    entries = lms_.read_archives(archives, lms, named_regexp=regexp)
    keep = _folder(root, assignment) / "archive"
    keep.mkdir(parents=True, exist_ok=True)
    for item in map(Path, archives):  # the downloads as they came, for the record
        if item.is_dir():
            shutil.copytree(item, _unique(keep / item.name))
        elif not ((keep / item.name).is_file() and (keep / item.name).read_bytes() == item.read_bytes()):
            shutil.copy2(item, _unique(keep / item.name))
    return collect_entries(root, assignment, entries, lms)


def _folder_entries(source, assignment):
    """Entries of a folder with one subfolder per student (the subfolder's name is the id)."""
    entries = []
    for folder in sorted(Path(source).iterdir()):
        if not folder.is_dir():
            continue
        inner = folder / assignment if (folder / assignment).is_dir() else folder
        for f in sorted(p for p in inner.rglob("*") if p.is_file()):
            parts = list(f.relative_to(inner).parts)
            path = "/".join([folder.name] + parts)
            junk = lms_.junk_reason(parts)
            e = lms_.Entry(archive=Path(source).name, path=path, data=f.read_bytes(), student=folder.name,
                           filename=f.name, order=(f.stat().st_mtime, lms_.base_name(f.name)[1]))
            if junk:
                e.skip = junk
            elif f.suffix.lower() != ".ipynb":
                e.skip = f"not a notebook ({f.suffix or 'no extension'})"
            entries.append(e)
    return entries


def collect(root, assignment, source=None):
    """Copy submissions into ``submitted/<student>/<assignment>/``.

    With ``source``: a directory with one folder per student (the folder's name is the
    student id), holding the notebooks directly or in an ``<assignment>/`` subfolder;
    matched and reported like ``zip-collect`` (returns a :class:`Collected`). Without:
    nbgrader's exchange (``nbgrader collect``, for JupyterHub set-ups; returns the student ids).
    """
    if source is None:
        nbgrader(root, "collect", assignment)
        return sorted(p.parent.name for p in (Path(root) / "submitted").glob(f"*/{assignment}"))
    if not Path(source).is_dir():
        raise PipelineError(f"--from {source}: not a folder (expected one subfolder per student)")
    return collect_entries(root, assignment, _folder_entries(source, assignment), "folders")
