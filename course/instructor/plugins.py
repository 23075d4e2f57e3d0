"""nbgrader preprocessors of the course (configured in ``nbgrader_config.py``).

- :class:`RestoreCells` (autograde, sanitising pass, before ``OverwriteCells``):
  gives back the nbgrader metadata of solution cells that lost it (matched by
  the function they define), re-inserts deleted solution and read-only cells,
  and notes edited or deleted test cells (which ``OverwriteCells`` with
  ``add_missing_cells`` then restores from the gradebook).
- :class:`LimitOutputSize` (autograde, after ``LimitOutput``): caps the size of
  every output, so megabytes of prints cannot bloat the graded notebook or the
  feedback (``LimitOutput`` only counts lines).
- :class:`HideHiddenTests` (feedback): removes hidden-test regions and every
  marker line from the sources, and reduces the traceback of an error in a
  test cell to its last line, so feedback shows no hidden-test source.

Everything worth reporting is logged as a line starting with :data:`NOTE`;
``python -m course autograde`` collects these lines into the export.
"""

from nbformat.notebooknode import from_dict
from traitlets import Integer, List, Unicode

from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

from ..cells import defined_functions

NOTE = "course-note:"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")


def strip_hidden(source, begin="BEGIN HIDDEN TESTS", end="END HIDDEN TESTS"):
    """``source`` without its hidden-test regions (the release version of a test cell)."""
    lines, hidden = [], False
    for line in source.split("\n"):
        if begin in line:
            hidden = True
        elif end in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


def _nbgrader_meta(grade_id, *, solution=False, locked=False):
    return {"grade": False, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}


class RestoreCells(NbGraderPreprocessor):
    """Repair a submission's structure before nbgrader checks it against the gradebook."""

    def _note(self, text):
        self.log.warning("%s %s: %s", NOTE, self.notebook_id, text)

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            try:
                source_nb = gb.find_notebook(self.notebook_id, assignment_id)
            except MissingEntry:
                return nb, resources
            grade_ids = {c.name for c in source_nb.grade_cells}
            solution_ids = {c.name for c in source_nb.solution_cells}
            # notebook order (insertion order, as nbgrader's add_missing_cells assumes too)
            sources = [(c.name, c.cell_type, c.source, c.locked) for c in source_nb.source_cells]
        self._restore(nb, sources, grade_ids, solution_ids)
        return nb, resources

    def _restore(self, nb, sources, grade_ids, solution_ids):
        known = {name for name, *_ in sources}

        def grade_id_of(cell):
            return cell.metadata.get("nbgrader", {}).get("grade_id")

        present = {grade_id_of(c) for c in nb.cells} & known
        free = [c for c in nb.cells if c.cell_type == "code" and grade_id_of(c) not in known]
        for name, cell_type, source, locked in sources:
            if name in present or name not in solution_ids:
                continue
            wanted = defined_functions(source)
            for cell in free:
                if wanted and wanted[0] in defined_functions(cell.source):
                    cell.metadata["nbgrader"] = _nbgrader_meta(name, solution=True)
                    free.remove(cell)
                    present.add(name)
                    self._note(f"solution cell '{name}' had lost its nbgrader metadata; "
                               f"recognised by `def {wanted[0]}` and restored")
                    break
        for pos, (name, cell_type, source, locked) in enumerate(sources):
            if name in present:
                if name in grade_ids:
                    cell = next(c for c in nb.cells if grade_id_of(c) == name)
                    if cell.source.strip() != strip_hidden(source).strip():
                        self._note(f"test cell '{name}' was edited; the original is graded")
                continue
            if name in grade_ids:
                self._note(f"test cell '{name}' was deleted; the original is graded")
                continue  # nbgrader's add_missing_cells puts it back
            cell = from_dict({"cell_type": cell_type, "metadata": {}, "source": source})
            if cell_type == "code":
                cell.update(outputs=[], execution_count=None)
            cell.metadata["nbgrader"] = _nbgrader_meta(name, solution=name in solution_ids, locked=locked)
            if locked:
                cell.metadata.update(editable=False, deletable=False)
            before = [n for n, *_ in sources[:pos] if n in present]
            at = 0
            if before:
                at = 1 + max(i for i, c in enumerate(nb.cells) if grade_id_of(c) == before[-1])
            nb.cells.insert(at, cell)
            present.add(name)
            kind = "solution" if name in solution_ids else "read-only"
            self._note(f"{kind} cell '{name}' was missing; the original {'stub' if kind == 'solution' else 'cell'} "
                       "was put back")
        return nb

    def preprocess_cell(self, cell, resources, index):
        return cell, resources


class LimitOutputSize(NbGraderPreprocessor):
    """Truncate every text output to ``max_chars`` characters and drop oversized rich outputs."""

    max_chars = Integer(20000, help="Maximum characters kept of one output").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        dropped = 0
        for output in cell.outputs:
            if output.output_type == "stream":
                dropped += self._cut(output, "text")
            elif output.output_type in ("execute_result", "display_data"):
                for mime in list(output.get("data", {})):
                    value = output.data[mime]
                    size = len(value) if isinstance(value, str) else len(str(value))
                    if size > self.max_chars:
                        if mime == "text/plain":
                            dropped += self._cut(output.data, mime)
                        else:
                            del output.data[mime]
                            dropped += size
            elif output.output_type == "error":
                dropped += self._cut(output, "evalue")
        if dropped:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", f"#{index}")
            self.log.warning("%s %s: output of cell '%s' truncated (%d characters dropped)",
                             NOTE, resources["nbgrader"]["notebook"], grade_id, dropped)
        return cell, resources

    def _cut(self, holder, key):
        text = holder[key]
        if isinstance(text, list):
            text = "".join(text)
        if len(text) <= self.max_chars:
            return 0
        holder[key] = text[: self.max_chars] + "\n... output truncated ...\n"
        return len(text) - self.max_chars


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback without hidden-test source, marker lines or tracebacks through hidden tests."""

    markers = List(Unicode(), list(MARKERS), help="Lines containing these are removed").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        had_hidden = "BEGIN HIDDEN TESTS" in cell.source
        source = strip_hidden(cell.source)
        cell.source = "\n".join(line for line in source.split("\n")
                                if not any(m in line for m in self.markers))
        if cell.cell_type == "code" and (had_hidden or utils.is_grade(cell)):
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
