"""The verification sandbox's wire format: frames of a JSON header and raw blobs, plain values only.

Shared by the grader (:mod:`course.verify.sandbox`) and the child (:mod:`course.verify.runner`);
the child receives this file's source ahead of its own, since it cannot import :mod:`course`.

A message is a frame: a 4-byte length, a JSON header, then the blobs the header
lists. Values cross as plain data only: ``None``, bools, ints, floats, strings,
tuples, lists, dicts, numpy arrays and scalars (``.npy`` format written and read
with ``allow_pickle=False``, never pickles), and *handles* naming a function on
the other side. A subclass of one of these crosses as its plain value plus its
class name; anything else as its class name only (an :class:`Opaque`). The
receiver rebuilds values from this data alone (:func:`decode`): a student's
object never reaches the grader's process, only numbers and plain classes named
after the student's.

Only the standard library and numpy are imported.
"""


import io
import json
import os
import re
import select
import struct
import time

import numpy as np

MAX_FRAME = 32 << 20  # bytes of one message (header and blobs), either direction
MAX_ITEMS = 200_000  # values in one message
MAX_DEPTH = 32


class ProtocolError(Exception):
    """A malformed or oversized message."""


# -- framing ---------------------------------------------------------------------------------


class Channel:
    """Frames over two pipe file descriptors; ``deadline`` (``time.monotonic``) only on the grader side."""

    def __init__(self, fd_in, fd_out, nonblocking=False):
        self.fd_in, self.fd_out = fd_in, fd_out
        if nonblocking:
            os.set_blocking(fd_in, False)
            os.set_blocking(fd_out, False)
        self.nonblocking = nonblocking

    def send(self, header, blobs=(), deadline=None):
        header = dict(header, sizes=[len(b) for b in blobs])
        body = json.dumps(header, separators=(",", ":")).encode()
        if len(body) + sum(header["sizes"]) > MAX_FRAME:
            raise ProtocolError(f"message of {len(body) + sum(header['sizes'])} bytes is over the "
                                f"{MAX_FRAME >> 20} MB limit")
        self._write(struct.pack(">I", len(body)) + body, deadline)
        for blob in blobs:
            self._write(blob, deadline)

    def recv(self, deadline=None):
        (size,) = struct.unpack(">I", self._read(4, deadline))
        if size > MAX_FRAME:
            raise ProtocolError(f"header of {size} bytes is over the limit")
        try:
            header = json.loads(self._read(size, deadline))
            sizes = [int(s) for s in header.pop("sizes")]
        except (ValueError, TypeError, KeyError, RecursionError, AttributeError) as err:
            raise ProtocolError(f"unreadable header ({type(err).__name__})") from None
        if not isinstance(header, dict) or any(s < 0 for s in sizes) or sum(sizes) + size > MAX_FRAME:
            raise ProtocolError("bad blob sizes")
        return header, [self._read(s, deadline) for s in sizes]

    def _wait(self, fd, write, deadline):
        if deadline is None:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        ready = select.select([], [fd], [], left) if write else select.select([fd], [], [], left)
        if not any(ready):
            raise TimeoutError("deadline passed")

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            if self.nonblocking:
                self._wait(self.fd_out, True, deadline)
            try:
                n = os.write(self.fd_out, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def _read(self, n, deadline):
        chunks, left = [], n
        while left:
            if self.nonblocking:
                self._wait(self.fd_in, False, deadline)
            try:
                chunk = os.read(self.fd_in, min(left, 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise EOFError("the other side closed the channel")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


# -- values ------------------------------------------------------------------------------------


class Opaque:
    """Stands for an object that cannot cross the sandbox; its class is named after the original type."""

    def __repr__(self):
        return f"<{type(self).__name__} object>"


_CLASSES = {}
_NAME = re.compile(r"[^A-Za-z0-9_.]")


def rebuilt_class(base, name):
    """A plain subclass of ``base`` named ``name`` (cached): the shape of a student's subclass, none of its code."""
    name = _NAME.sub("_", str(name))[:60] or "object"
    key = (base, name)
    if key not in _CLASSES:
        _CLASSES[key] = type(name.rsplit(".", 1)[-1] or "object", (base,), {"__module__": "sandbox"})
    return _CLASSES[key]


def type_name(value):
    cls = type.__getattribute__(type(value), "__name__")
    return cls if isinstance(cls, str) else "object"


def _npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


_SIMPLE = {bool: "bool", int: "int", float: "float", str: "str", complex: "complex"}


def encode(value, blobs, register=None):
    """``value`` as a JSON tree, arrays appended to ``blobs``; callables become handles via ``register``."""
    count = [0]

    def enc(v, depth):
        count[0] += 1
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
            raise ProtocolError("value too large or too deeply nested")
        t = type(v)
        if v is None:
            return {"t": "none"}
        if t is bool:
            return {"t": "bool", "v": v}
        if t is int:
            return {"t": "int", "v": int.__repr__(v)}
        if t is float:
            return {"t": "float", "v": float.hex(v)}
        if t is str:
            return {"t": "str", "v": v}
        if t is complex:
            return {"t": "complex", "v": [float.hex(v.real), float.hex(v.imag)]}
        if t is tuple or t is list:
            return {"t": t.__name__, "v": [enc(x, depth + 1) for x in v]}
        if t is dict:
            return {"t": "dict", "v": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in dict.items(v)]}
        if t is np.ndarray or isinstance(v, np.ndarray):
            plain = v if t is np.ndarray else np.ndarray.view(v, np.ndarray)
            if plain.dtype.hasobject:
                return {"t": "opaque", "type": "ndarray of Python objects"}
            blobs.append(_npy(plain))
            tree = {"t": "nd", "b": len(blobs) - 1}
            if t is not np.ndarray:
                tree["sub"] = type_name(v)
            return tree
        if isinstance(v, np.generic) and t.__module__ == "numpy" and not isinstance(v, np.object_):
            blobs.append(_npy(np.asarray(v)))
            return {"t": "np", "b": len(blobs) - 1}
        for base, kind in _SIMPLE.items():  # subclasses of the plain kinds: their value and class name
            if base is not bool and isinstance(v, base):
                tree = enc(base.__new__(base, v) if base is not complex else complex(v.real, v.imag), depth)
                return dict(tree, sub=type_name(v))
        for base in (tuple, list):
            if isinstance(v, base):
                return {"t": base.__name__, "v": [enc(x, depth + 1) for x in base.__iter__(v)],
                        "sub": type_name(v)}
        if isinstance(v, dict):
            return {"t": "dict", "v": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in dict.items(v)],
                    "sub": type_name(v)}
        if register is not None and callable(v):
            name = getattr(v, "__name__", "function")
            return {"t": "fn", "id": register(v), "name": name if isinstance(name, str) else "function"}
        return {"t": "opaque", "type": type_name(v)}

    return enc(value, 0)


def decode(tree, blobs, proxy=None, seen=None):
    """Rebuild a value from :func:`encode`'s tree: plain types and :func:`rebuilt_class` subclasses only.

    ``proxy(handle_id, name)`` turns a handle into a callable (else it becomes an
    :class:`Opaque`). ``seen`` (a list) collects the type names of subclasses and opaque values.
    """
    count = [0]
    seen = [] if seen is None else seen

    def dec(node, depth):
        count[0] += 1
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH or not isinstance(node, dict):
            raise ProtocolError("bad value tree")
        t, v = node.get("t"), node.get("v")
        if t == "none":
            value = None
        elif t == "bool":
            value = v is True
        elif t == "int":
            value = int(str(v))
        elif t == "float":
            value = float.fromhex(str(v))
        elif t == "str":
            value = str(v)
        elif t == "complex":
            value = complex(float.fromhex(str(v[0])), float.fromhex(str(v[1])))
        elif t in ("tuple", "list"):
            value = [dec(x, depth + 1) for x in v]
            value = tuple(value) if t == "tuple" else value
        elif t == "dict":
            value = {}
            for pair in v:
                key = dec(pair[0], depth + 1)
                value[key if isinstance(key, (str, int, float, bool, tuple)) or key is None else repr(key)] = \
                    dec(pair[1], depth + 1)
        elif t in ("nd", "np"):
            array = np.lib.format.read_array(io.BytesIO(blobs[int(node["b"])]), allow_pickle=False)
            value = array if t == "nd" else array[()]
        elif t == "fn":
            name = str(node.get("name", "function"))[:80]
            value = proxy(int(node["id"]), name) if proxy else rebuilt_class(Opaque, "function")()
        elif t == "opaque":
            seen.append(str(node.get("type", "object"))[:60])
            value = rebuilt_class(Opaque, node.get("type", "object"))()
        else:
            raise ProtocolError(f"unknown value kind {t!r}")
        sub = node.get("sub")
        if sub is not None and t not in ("none", "bool", "fn", "opaque"):
            seen.append(str(sub)[:60])
            base = {"nd": np.ndarray, "tuple": tuple, "list": list, "dict": dict, "int": int, "float": float,
                    "str": str, "complex": complex}.get(t)
            if base is np.ndarray:
                value = value.view(rebuilt_class(np.ndarray, sub))
            elif base is not None:
                value = rebuilt_class(base, sub)(value)
        return value

    try:
        return dec(tree, 0)
    except ProtocolError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError, AttributeError) as err:
        raise ProtocolError(f"bad value ({type(err).__name__}: {str(err)[:100]})") from None


def short(err, limit=300):
    """``str(err)`` on one line, cut to ``limit`` characters (never raises)."""
    try:
        text = " ".join(str(err).split())
    except BaseException:  # a student's exception whose __str__ fails
        text = "<unprintable>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
