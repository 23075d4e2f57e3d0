r"""Interactive figures for the book's website: numbers from mplib, drawing by Plotly.js.

A page computes every setting of a figure in Python, with ``mplib``, and hands the
results to an :class:`InteractiveFigure`: one *frame* (a list of Plotly traces and a
sentence of readout) per combination of control values. Displayed in a notebook cell,
the figure becomes one HTML block:

- the controls, as plain HTML form elements (a range slider with a visible label, its
  current value and a Play button; a group of radio buttons), so they work with the
  keyboard, the mouse and screen readers;
- an empty plot area and a readout line (``aria-live``) that states the numbers of the
  current setting;
- a static PNG of the same data (a matplotlib figure the page draws), shown when
  JavaScript is off and when the page is printed;
- a caption (``figcaption``) and alt text;
- the frames as JSON in a ``<script type="application/json">`` element.

Nothing is computed in the browser: ``_static/mp-interactive.js`` (loaded on every page
by ``_config.yml``) loads the Plotly.js library served by the site (``/plotly/``,
staged by ``web.mk`` from npm) once, on pages that hold a figure, and on every change
of a control draws the frame of that setting with ``Plotly.react``.

The output is deterministic (no random ids, no time stamps), so two builds of the book
give the same HTML.

Example
-------
>>> fig = InteractiveFigure("demo", [slider("k", "round k", [0, 1])],
...                         caption="A demo.", alt="A line.")
>>> for k in (0, 1):
...     _ = fig.add_frame([{"type": "scatter", "x": [0, 1], "y": [k, k]}], f"k = {k}", k=k)
>>> fig.frame(k=1)["readout"]
'k = 1'
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
import re
from dataclasses import dataclass

import numpy as np

from .plotting import INK, categorical_colors

__all__ = ["Control", "slider", "choice", "InteractiveFigure", "graph_traces", "subplot_layout",
           "axis_names", "css_colors"]

_NAME = re.compile(r"[a-z][a-z0-9-]*\Z")
_CONTROL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13, color=INK)
GRID = "rgba(128, 128, 128, 0.25)"


@dataclass(frozen=True)
class Control:
    """One control of a figure: a slider over ``values`` or a choice among them."""

    name: str
    label: str
    kind: str            # "slider" or "choice"
    values: tuple        # the setting passed to :meth:`InteractiveFigure.add_frame`
    texts: tuple         # what the reader sees for each value
    initial: int         # index of the value shown first

    def index(self, value):
        for k, v in enumerate(self.values):
            if v == value:
                return k
        raise ValueError(f"control {self.name!r} has no value {value!r}; "
                         f"expected one of {list(self.values)}")


def _control(kind, name, label, values, texts, initial):
    if not isinstance(name, str) or not _CONTROL_NAME.match(name):
        raise ValueError(f"`name` of a control must be letters, digits, '_' and '-', "
                         f"starting with a letter; got {name!r}")
    if not isinstance(label, str) or not label.strip():
        raise ValueError(f"`label` of control {name!r} must be a non-empty string")
    values = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
    if not values:
        raise ValueError(f"`values` of control {name!r} must not be empty")
    if len(set(values)) != len(values):
        raise ValueError(f"`values` of control {name!r} must be distinct, got {list(values)}")
    texts = tuple(str(t) for t in texts)
    if len(texts) != len(values):
        raise ValueError(f"control {name!r}: {len(texts)} texts for {len(values)} values")
    if not isinstance(initial, (int, np.integer)) or not 0 <= initial < len(values):
        raise ValueError(f"`initial` of control {name!r} must be an index in "
                         f"[0, {len(values) - 1}], got {initial!r}")
    return Control(name, label, kind, values, texts, int(initial))


def slider(name, label, values, fmt="{}", initial=0):
    """A range slider over ``values`` (shown with ``fmt``), with a Play button.

    >>> slider("t", "round t", range(3)).texts
    ('0', '1', '2')
    """
    values = list(values)
    return _control("slider", name, label, values, [fmt.format(v) for v in values], initial)


def choice(name, label, options, initial=0):
    """A group of radio buttons; ``options`` maps each value to the text shown.

    >>> choice("pair", "pair", {"a": "first", "b": "second"}).values
    ('a', 'b')
    """
    if not isinstance(options, dict):
        options = {v: str(v) for v in options}
    return _control("choice", name, label, list(options), list(options.values()), initial)


def _plain(obj, where="trace"):
    """numpy arrays and scalars to JSON types; NaN to null (a gap); infinity is an error."""
    if isinstance(obj, dict):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_plain(v, where) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            raise ValueError(f"{where} holds an infinite number, which JSON cannot carry")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"{where} holds a {type(obj).__name__}; expected numbers, strings, "
                    "lists, arrays or dicts")


class InteractiveFigure:
    """A figure whose frames are computed by the page and played by Plotly.js in the browser.

    Parameters
    ----------
    name : str
        Lower-case id, unique on its page (letters, digits, ``-``); the figure's HTML id
        is ``mp-fig-<name>``.
    controls : list of Control
        Made with :func:`slider` and :func:`choice`; at least one.
    caption : str
        Caption under the figure (plain text), shown with and without JavaScript.
    alt : str
        Alt text of the static image and label of the interactive plot.
    layout : dict, optional
        Plotly layout shared by every frame (see :func:`subplot_layout`).
    static : list of dict, optional
        Traces drawn under every frame (e.g. a curve over all settings).
    how_to : str, optional
        One sentence on how to use the controls, shown above them.

    Raises
    ------
    ValueError
        On a bad name, no controls, two controls with one name, or an empty caption or alt.
    """

    def __init__(self, name, controls, caption, alt, layout=None, static=(), how_to=None):
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"`name` must be lower-case letters, digits and '-', got {name!r}")
        controls = list(controls)
        if not controls or not all(isinstance(c, Control) for c in controls):
            raise ValueError("`controls` must be a non-empty list of slider(...) or choice(...)")
        names = [c.name for c in controls]
        if len(set(names)) != len(names):
            raise ValueError(f"two controls share a name: {names}")
        for text, what in ((caption, "caption"), (alt, "alt")):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"`{what}` must be a non-empty string")
        self.name, self.controls, self.caption, self.alt = name, controls, caption, alt
        self.layout = _plain(dict(layout or {}), "layout")
        self.static = [_plain(t, "static trace") for t in static]
        self.how_to = how_to or _default_how_to(controls)
        self.frames = {}         # key -> {"data": indices into pool, "readout", "layout"?}
        self.pool, self._pool_ids = [], {}
        self.fallback_png = None

    # -- building ------------------------------------------------------------------------------

    def key(self, **setting):
        """The frame key of a setting: the indices of its control values, joined by commas."""
        unknown = sorted(set(setting) - {c.name for c in self.controls})
        missing = [c.name for c in self.controls if c.name not in setting]
        if unknown or missing:
            raise ValueError(f"a setting names every control exactly once: unknown {unknown}, "
                             f"missing {missing}")
        return ",".join(str(c.index(setting[c.name])) for c in self.controls)

    def add_frame(self, traces, readout, layout=None, **setting):
        """Add the frame of one setting (``control name=value`` for every control).

        ``traces`` are Plotly trace dicts (numpy arrays allowed), drawn over the static
        traces; ``readout`` is the sentence stating the numbers of this setting;
        ``layout`` optionally updates the shared layout for this frame.
        """
        key = self.key(**setting)
        if key in self.frames:
            raise ValueError(f"figure {self.name!r} already has a frame for {setting}")
        if not isinstance(readout, str) or not readout.strip():
            raise ValueError("`readout` must be a non-empty sentence")
        frame = {"data": [self._pool_index(_plain(t)) for t in traces], "readout": readout}
        if layout:
            frame["layout"] = _plain(dict(layout), "layout")
        self.frames[key] = frame
        return self

    def _pool_index(self, trace):
        """Store a trace once, however many frames draw it (edges, a whole curve)."""
        text = json.dumps(trace, sort_keys=True, allow_nan=False)
        if text not in self._pool_ids:
            self._pool_ids[text] = len(self.pool)
            self.pool.append(trace)
        return self._pool_ids[text]

    def frame(self, **setting):
        """The frame of a setting: its readout and its traces (static ones first)."""
        frame = self.frames[self.key(**setting)]
        return {**frame, "data": self.static + [self.pool[k] for k in frame["data"]]}

    def set_fallback(self, fig, dpi=110):
        """Use a matplotlib figure (same data, e.g. a few settings side by side) as the static image.

        The figure is saved as PNG without metadata (so builds are byte-identical) and closed.
        """
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        self.fallback_png = buffer.getvalue()
        return self

    # -- output --------------------------------------------------------------------------------

    def spec(self):
        """Everything the browser needs, as one JSON-ready dict."""
        missing = [",".join(map(str, k)) for k in
                   itertools.product(*(range(len(c.values)) for c in self.controls))
                   if ",".join(map(str, k)) not in self.frames]
        if missing:
            raise ValueError(f"figure {self.name!r} has no frame for the settings {missing[:5]}"
                             f" ({len(missing)} missing)")
        return {
            "name": self.name,
            "controls": [{"name": c.name, "kind": c.kind, "texts": list(c.texts),
                          "initial": c.initial} for c in self.controls],
            "layout": self.layout,
            "static": self.static,
            "traces": self.pool,
            "frames": self.frames,
        }

    def to_html(self):
        """The HTML block of the figure (see the module docstring)."""
        if self.fallback_png is None:
            raise ValueError(f"figure {self.name!r} has no static image: call set_fallback(fig)")
        data = json.dumps(self.spec(), separators=(",", ":"), allow_nan=False)
        data = data.replace("</", "<\\/")          # cannot close the script element early
        esc = html.escape
        first = self.frames[",".join(str(c.initial) for c in self.controls)]
        fid = f"mp-{self.name}"
        png = base64.b64encode(self.fallback_png).decode("ascii")
        parts = [f'<figure class="mp-interactive" id="mp-fig-{self.name}">',
                 f'<div class="mp-live" role="group" aria-labelledby="{fid}-caption">',
                 f'<p class="mp-howto">{esc(self.how_to)}</p>',
                 '<div class="mp-controls">']
        parts += [_control_html(fid, c) for c in self.controls]
        parts += ["</div>",
                  f'<div class="mp-plot" id="{fid}-plot" role="img" aria-label="{esc(self.alt)}">'
                  "</div>",
                  f'<p class="mp-readout" aria-live="polite">{esc(first["readout"])}</p>',
                  "</div>",
                  f'<img class="mp-fallback" src="data:image/png;base64,{png}" alt="{esc(self.alt)}">',
                  f'<figcaption id="{fid}-caption">{esc(self.caption)}'
                  ' <span class="mp-static-note">(A still image: with JavaScript on, this figure'
                  " has controls.)</span></figcaption>",
                  f'<script type="application/json" class="mp-data">{data}</script>',
                  "</figure>"]
        return "\n".join(parts)

    _repr_html_ = to_html


def _default_how_to(controls):
    kinds = {c.kind for c in controls}
    parts = []
    if "slider" in kinds:
        parts.append("drag a slider or focus it and press the arrow keys (Play steps through)")
    if "choice" in kinds:
        parts.append("pick an option with a click or with Tab and the arrow keys")
    return "Interactive: " + "; ".join(parts) + ". Hover over the plot for values."


def _control_html(fid, c):
    esc = html.escape
    cid = f"{fid}-{c.name}"
    if c.kind == "slider":
        return (f'<div class="mp-control mp-slider" data-mp-control="{c.name}">'
                f'<label for="{cid}">{esc(c.label)}</label> '
                f'<input type="range" id="{cid}" min="0" max="{len(c.values) - 1}" step="1" '
                f'value="{c.initial}" aria-valuetext="{esc(c.texts[c.initial])}"> '
                f'<output for="{cid}" class="mp-value">{esc(c.texts[c.initial])}</output> '
                f'<button type="button" class="mp-play" aria-controls="{cid}">Play</button>'
                "</div>")
    options = "".join(
        f'<label><input type="radio" name="{cid}" value="{k}"{" checked" if k == c.initial else ""}>'
        f" {esc(text)}</label>" for k, text in enumerate(c.texts))
    return (f'<fieldset class="mp-control mp-choice" data-mp-control="{c.name}">'
            f"<legend>{esc(c.label)}</legend>{options}</fieldset>")


# -- building blocks for the traces and the layout ------------------------------------------------


def axis_names(k):
    """Plotly's names of subplot ``k`` (1-based): ``('x', 'y')``, ``('x2', 'y2')``, ..."""
    suffix = "" if k == 1 else str(k)
    return f"x{suffix}", f"y{suffix}"


def subplot_layout(kinds, widths=None, titles=None, height=380, gap=0.1, **axes):
    """A Plotly layout of subplots side by side, in the book's look.

    ``kinds[k]`` is ``"graph"`` (axes hidden, equal scales, for a drawing of a graph) or
    ``"plot"`` (axes with a grid). ``axes`` updates named axes, e.g. ``yaxis2=dict(type="log")``.

    >>> sorted(subplot_layout(["graph", "plot"]))[:4]
    ['annotations', 'font', 'height', 'hovermode']
    """
    n = len(kinds)
    widths = np.ones(n) if widths is None else np.asarray(widths, float)
    if len(widths) != n:
        raise ValueError(f"`widths` must have one entry per subplot ({n}), got {len(widths)}")
    share = (1 - gap * (n - 1)) * widths / widths.sum()
    left = np.concatenate([[0], np.cumsum(share + gap)])[:n]
    out = dict(height=height, margin=dict(l=50, r=20, t=40, b=50), font=FONT,
               paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", showlegend=False,
               hovermode="closest", annotations=[])
    for k, (kind, x0, w) in enumerate(zip(kinds, left, share), start=1):
        xa, ya = axis_names(k)
        xkey, ykey = xa.replace("x", "xaxis"), ya.replace("y", "yaxis")
        domain = [float(x0), float(min(x0 + w, 1.0))]
        if kind == "graph":
            hidden = dict(visible=False, showgrid=False, zeroline=False)
            out[xkey] = dict(domain=domain, anchor=ya, **hidden)
            out[ykey] = dict(anchor=xa, scaleanchor=xa, scaleratio=1, **hidden)
        elif kind == "plot":
            style = dict(gridcolor=GRID, zerolinecolor=GRID, linecolor=INK, ticks="outside")
            out[xkey] = dict(domain=domain, anchor=ya, **style)
            out[ykey] = dict(anchor=xa, **style)
        else:
            raise ValueError(f"`kinds` entries must be 'graph' or 'plot', got {kind!r}")
        if titles:
            out["annotations"].append(dict(text=titles[k - 1], x=float(x0 + w / 2), y=1.0,
                                           xref="paper", yref="paper", xanchor="center",
                                           yanchor="bottom", showarrow=False, font=dict(size=14)))
    for key, update in axes.items():
        if key not in out:
            raise ValueError(f"no axis {key!r} in this layout")
        out[key].update(update)
    return out


def css_colors(values, categories=None):
    """The book's category colours (:func:`mplib.plotting.categorical_colors`) as CSS strings.

    >>> css_colors([1, 0])
    ['rgba(230,159,0,1)', 'rgba(0,114,178,1)']
    """
    return [f"rgba({r * 255:.0f},{g * 255:.0f},{b * 255:.0f},{a:g})"
            for r, g, b, a in categorical_colors(values, categories)]


def graph_traces(graph, pos, node_color=None, *, subplot=1, labels=True, hover=None,
                 colorscale="Viridis", cmin=None, cmax=None, categories=None, size=18,
                 edge_color=INK, edge_width=1.5, colorbar=None, name="nodes"):
    """Two Plotly traces drawing ``graph`` at ``pos``: its edges (one line trace) and its nodes.

    ``node_color``: numbers through the Plotly ``colorscale`` (``cmin``/``cmax`` fix the scale;
    ``"RdBu"`` is reversed to match matplotlib's: red low, blue high), integers
    with ``categories`` through the book's Okabe–Ito palette, or colour strings.
    ``hover[k]`` is the tooltip of node ``k``; ``labels`` writes node ids (or given texts);
    ``colorbar`` is a title, or a dict of Plotly colour-bar settings (e.g. its ``x``).
    The edge trace does not change with the node colours: pass it as a static trace.
    """
    pos = np.round(np.asarray(pos, dtype=float), 4)   # where to draw: 4 decimals are plenty
    n = graph.num_nodes
    if pos.shape != (n, 2):
        raise ValueError(f"`pos` must have shape ({n}, 2), got {pos.shape}")
    xa, ya = axis_names(subplot)
    src, dst = graph.edge_index
    keep = src < dst
    ex, ey = [], []
    for a, b in zip(src[keep], dst[keep]):
        ex += [pos[a, 0], pos[b, 0], None]
        ey += [pos[a, 1], pos[b, 1], None]
    edges = dict(type="scatter", mode="lines", x=ex, y=ey, xaxis=xa, yaxis=ya, hoverinfo="skip",
                 line=dict(color=edge_color, width=edge_width), name="edges")
    marker = dict(size=size, line=dict(color=INK, width=1))
    if node_color is None:
        marker["color"] = "#56B4E9"
    elif isinstance(node_color, str):
        marker["color"] = node_color
    else:
        values = np.asarray(node_color)
        if values.dtype.kind in "iu" or categories is not None:
            marker["color"] = css_colors(values, categories)
        elif values.dtype.kind == "f":
            # Plotly's RdBu runs blue to red, matplotlib's red to blue: follow matplotlib
            marker.update(color=values, colorscale=colorscale, showscale=colorbar is not None,
                          reversescale=colorscale == "RdBu")
            if cmin is not None:
                marker.update(cmin=float(cmin), cmax=float(cmax))
            if colorbar is not None:
                bar = {"title": {"text": colorbar}} if isinstance(colorbar, str) else colorbar
                marker["colorbar"] = {"thickness": 12, "len": 0.8, "outlinewidth": 0, **bar}
        else:
            marker["color"] = [str(c) for c in values]
    if labels is True:
        labels = [str(k) for k in range(n)]
    nodes = dict(type="scatter", mode="markers+text" if labels else "markers",
                 x=pos[:, 0], y=pos[:, 1], xaxis=xa, yaxis=ya, marker=marker, name=name,
                 text=list(labels) if labels else None, textposition="top center",
                 textfont=dict(size=11, color=INK))
    if hover is not None:
        nodes.update(hovertext=list(hover), hoverinfo="text")
    elif np.asarray(marker["color"]).dtype.kind == "f":
        nodes["hovertemplate"] = "node %{pointNumber}: %{marker.color:.4g}<extra></extra>"
    else:
        nodes["hovertemplate"] = "node %{pointNumber}<extra></extra>"
    return [edges, nodes]
