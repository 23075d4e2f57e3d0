r"""Molecules as graphs: a small SMILES reader and writer, and random molecules.

A molecule becomes a graph with one node per heavy atom (hydrogens are left
implicit) and one undirected edge per bond. The node features are a one-hot
code of the element, the edge features a one-hot code of the bond type:

.. math::
    x_i = \mathbf{1}[\mathrm{element}(i)] \in \{0, 1\}^{|\mathcal A|}, \qquad
    e_{ji} = \mathbf{1}[\mathrm{bond}(j, i)] \in \{0, 1\}^{|\mathcal B|}

The reader covers the part of SMILES (Weininger 1988) that the book needs:
the organic-subset atoms ``B C N O P S F Cl Br I`` and their aromatic forms
``b c n o p s``, the bonds ``- = # :``, branches ``( )`` and ring closures
``1``-``9`` and ``%10``-``%99``. Bracket atoms (``[nH]``, charges, isotopes),
stereo bonds (``/ \``) and several components (``.``) are not read.
"""

import re

import numpy as np
from scipy.sparse.csgraph import shortest_path

from ._validate import check_int, check_rng
from .graph import Graph
from .message_passing import adjacency_matrix

__all__ = ["ATOM_TYPES", "BOND_TYPES", "VALENCE", "parse_smiles", "molecule_graph", "write_smiles",
           "random_molecule"]

ATOM_TYPES = ("B", "C", "N", "O", "P", "S", "F", "Cl", "Br", "I")
"""Elements of the SMILES organic subset, in the column order of ``x``."""
BOND_TYPES = ("single", "double", "triple", "aromatic")
"""Bond types, in the column order of ``edge_attr``."""
VALENCE = {"B": 3, "C": 4, "N": 3, "O": 2, "P": 3, "S": 2, "F": 1, "Cl": 1, "Br": 1, "I": 1}
"""Usual (lowest) valence of each element: the bonds it forms, hydrogens included."""

_SYMBOL = {"-": "single", "=": "double", "#": "triple", ":": "aromatic"}
_AROMATIC = ("b", "c", "n", "o", "p", "s")
_WRITE = {"single": "-", "double": "=", "triple": "#", "aromatic": ":"}
_TOKEN = re.compile(r"Cl|Br|[BCNOPSFI]|[bcnops]|[-=#:()]|%\d\d|\d|(.)")


def _digit(d):
    return f"{d}" if d < 10 else f"%{d}"


def _element(atom):
    """``'c'`` -> ``'C'``; the aromatic forms are the lower-case one-letter symbols."""
    return atom.upper() if len(atom) == 1 else atom


def parse_smiles(smiles):
    r"""Read a SMILES string into a list of atoms and a list of bonds.

    Atoms are numbered in the order they are written. A bond without a symbol
    is single, or aromatic when both of its atoms are written in lower case.

    Parameters
    ----------
    smiles : str
        E.g. ``"CC(=O)O"`` (acetic acid) or ``"c1ccncc1"`` (pyridine).

    Returns
    -------
    atoms : list of str
        The symbols as written (``"c"`` for an aromatic carbon).
    bonds : list of (int, int, str)
        ``(i, j, type)`` with ``i < j`` and ``type`` one of :data:`BOND_TYPES`.

    Raises
    ------
    TypeError
        If ``smiles`` is not a string.
    ValueError
        If it is empty or not valid in the subset read here; the message names
        the position (from 0) of the offending character.

    Examples
    --------
    >>> parse_smiles("C=CC(O)=O")
    (['C', 'C', 'C', 'O', 'O'], [(0, 1, 'double'), (1, 2, 'single'), (2, 3, 'single'), (2, 4, 'double')])

    Notes
    -----
    Between two aromatic rings write the single bond explicitly
    (``c1ccccc1-c1ccccc1``, biphenyl): here, as in the plain OpenSMILES rule, an
    unwritten bond between two aromatic atoms is aromatic. Valences and
    aromaticity (Hückel's rule) are not checked. Parsing walks the string once,
    a loop over characters, which is the nature of the format.

    References
    ----------
    D. Weininger, "SMILES, a chemical language and information system. 1.
    Introduction to methodology and encoding rules", J. Chem. Inf. Comput. Sci.
    28(1), 1988. The OpenSMILES specification, http://opensmiles.org.
    """
    if not isinstance(smiles, str):
        raise TypeError(f"`smiles` must be a string, got {type(smiles).__name__}")
    if not smiles:
        raise ValueError("`smiles` is empty: expected at least one atom")
    atoms, bonds, pairs = [], [], set()
    prev, bond, branches, rings = None, None, [], {}

    def fail(pos, what):
        raise ValueError(f"`smiles` {smiles!r}, position {pos}: {what}")

    def connect(i, j, symbol, pos):
        if (min(i, j), max(i, j)) in pairs:
            fail(pos, f"atoms {min(i, j)} and {max(i, j)} are bonded twice")
        pairs.add((min(i, j), max(i, j)))
        kind = _SYMBOL[symbol] if symbol else (
            "aromatic" if atoms[i].islower() and atoms[j].islower() else "single")
        bonds.append((min(i, j), max(i, j), kind))

    for m in _TOKEN.finditer(smiles):
        tok, pos = m.group(), m.start()
        if m.group(1) is not None:
            hint = " (bracket atoms are not read)" if tok == "[" else ""
            fail(pos, f"unexpected character {tok!r}{hint}")
        if tok in _SYMBOL:
            if prev is None or bond is not None:
                fail(pos, f"bond {tok!r} must follow an atom" + (" (two bonds in a row)" if bond else ""))
            bond = tok
        elif tok == "(":
            if prev is None or bond is not None:
                fail(pos, "a branch must follow an atom (write the bond inside it, as in 'C(=O)')")
            branches.append((prev, len(atoms)))
        elif tok == ")":
            if not branches:
                fail(pos, "')' closes no branch")
            if bond is not None or len(atoms) == branches[-1][1]:
                fail(pos, "empty branch or branch ending with a bond")
            prev = branches.pop()[0]
        elif tok[0] in "%0123456789":
            digit = int(tok.lstrip("%"))
            if prev is None:
                fail(pos, f"ring closure {digit} must follow an atom")
            if digit not in rings:
                rings[digit] = (prev, bond, pos)
            else:
                start, first, _ = rings.pop(digit)
                if start == prev:
                    fail(pos, f"ring closure {digit} bonds atom {prev} to itself")
                if first and bond and first != bond:
                    fail(pos, f"ring closure {digit} is opened with {first!r} but closed with {bond!r}")
                connect(start, prev, first or bond, pos)
            bond = None
        else:  # an atom
            atoms.append(tok)
            if prev is not None:
                connect(prev, len(atoms) - 1, bond, pos)
            prev, bond = len(atoms) - 1, None
    if bond is not None:
        fail(len(smiles), "the string ends with a bond")
    if branches:
        fail(len(smiles), f"{len(branches)} branch(es) opened with '(' are never closed")
    if rings:
        digit, (_, _, pos) = min(rings.items(), key=lambda item: item[1][2])
        fail(pos, f"ring closure {digit} is never closed")
    return atoms, bonds


def molecule_graph(smiles, atom_types=ATOM_TYPES, bond_types=BOND_TYPES):
    r"""The graph of a molecule: one-hot elements as ``x``, one-hot bond types as ``edge_attr``.

    .. math::
        x_{v a} = [\mathrm{element}(v) = a], \qquad e_{uv, b} = [\mathrm{bond}(u, v) = b]

    Parameters
    ----------
    smiles : str
        As read by :func:`parse_smiles`.
    atom_types : sequence of str, default :data:`ATOM_TYPES`
        The elements, one column each (aromatic ``c`` counts as ``C``).
    bond_types : sequence of str, default :data:`BOND_TYPES`
        The bond types, one column each.

    Returns
    -------
    Graph
        Node ``k`` is the ``k``-th atom written; ``x`` of shape ``(N, len(atom_types))``;
        every bond stored in both directions, sorted by (source, target), with
        ``edge_attr`` of shape ``(E, len(bond_types))``.

    Raises
    ------
    TypeError, ValueError
        As :func:`parse_smiles`; ValueError also if an element or bond type is
        not in ``atom_types`` or ``bond_types``.

    Examples
    --------
    Ethanol, CCO: two carbons and an oxygen, two single bonds.

    >>> g = molecule_graph("CCO", atom_types=("C", "O"))
    >>> g.x
    array([[1., 0.],
           [1., 0.],
           [0., 1.]])
    >>> g.edge_index, g.edge_attr.argmax(axis=1)
    (array([[0, 1, 1, 2],
           [1, 0, 2, 1]]), array([0, 0, 0, 0]))
    """
    atoms, bonds = parse_smiles(smiles)
    atom_types, bond_types = list(atom_types), list(bond_types)
    for name, values, allowed in (("atom_types", [_element(a) for a in atoms], atom_types),
                                  ("bond_types", [b[2] for b in bonds], bond_types)):
        missing = sorted(set(values) - set(allowed))
        if missing:
            raise ValueError(f"`smiles` {smiles!r} has {missing[0]!r}, which is not in `{name}` {tuple(allowed)}")
    x = np.eye(len(atom_types))[[atom_types.index(_element(a)) for a in atoms]]
    ends = np.array([b[:2] for b in bonds], dtype=np.int64).reshape(-1, 2).T
    kinds = np.array([bond_types.index(b[2]) for b in bonds], dtype=np.int64)
    src, dst = np.concatenate([ends, ends[::-1]], axis=1)
    order = np.lexsort((dst, src))
    edge_attr = np.eye(len(bond_types))[np.concatenate([kinds, kinds])[order]].reshape(len(order), len(bond_types))
    return Graph(np.stack([src[order], dst[order]]), num_nodes=len(atoms), x=x, edge_attr=edge_attr)


def write_smiles(atoms, bonds):
    r"""Write a molecule as a SMILES string (depth-first from atom 0; not canonical).

    Parameters
    ----------
    atoms : sequence of str
        Symbols as :func:`parse_smiles` returns them (lower case = aromatic).
    bonds : sequence of (int, int, str)
        ``(i, j, type)``, each pair at most once, ``type`` in :data:`BOND_TYPES`.

    Returns
    -------
    str
        A string that :func:`parse_smiles` reads back into the same graph
        (atoms renumbered in the order written).

    Raises
    ------
    ValueError
        If there are no atoms, an atom is not in the organic subset, a bond is
        repeated, a loop, refers to a missing atom or has an unknown type, or
        the molecule is not connected.

    Examples
    --------
    >>> write_smiles(["C", "C", "C", "O", "O"], [(0, 1, "double"), (1, 2, "single"), (2, 3, "single"),
    ...                                          (2, 4, "double")])
    'C=CC(O)=O'
    >>> write_smiles(["C"] * 6, [(k, (k + 1) % 6, "single") for k in range(6)])
    'C1CCCCC1'

    Notes
    -----
    The walk is recursive, so a chain of more than several hundred atoms
    exceeds Python's recursion limit; the book's molecules are far smaller.
    """
    n = len(atoms)
    if n == 0:
        raise ValueError("`atoms` is empty: expected at least one atom")
    unknown = [a for a in atoms if a not in ATOM_TYPES + _AROMATIC]
    if unknown:
        raise ValueError(f"`atoms` holds {unknown[0]!r}: expected one of {ATOM_TYPES} or aromatic b c n o p s")
    kind, neighbours = {}, [[] for _ in range(n)]
    for i, j, t in bonds:
        if not (0 <= i < n and 0 <= j < n) or i == j or t not in _WRITE or (min(i, j), max(i, j)) in kind:
            raise ValueError(f"`bonds` holds {(i, j, t)!r}: expected distinct atoms in 0..{n - 1}, "
                             f"each pair once, a type in {BOND_TYPES}")
        kind[min(i, j), max(i, j)] = t
        neighbours[i].append(j)
        neighbours[j].append(i)
    children, seen = [[] for _ in range(n)], {0}

    def visit(u):  # the depth-first tree, neighbours in increasing order (a recursion; molecules are small)
        for v in sorted(neighbours[u]):
            if v not in seen:
                seen.add(v)
                children[u].append(v)
                visit(v)
    visit(0)
    if len(seen) < n:
        raise ValueError(f"the molecule is not connected: atom 0 reaches {len(seen)} of {n} atoms")
    tree = {(min(u, v), max(u, v)) for u in range(n) for v in children[u]}
    rings = [[p for p in sorted(kind) if p not in tree and u in p] for u in range(n)]  # ring bonds of each atom

    def symbol(i, j):
        t = kind[min(i, j), max(i, j)]
        return "" if t == ("aromatic" if atoms[i].islower() and atoms[j].islower() else "single") else _WRITE[t]

    out, digits, free = [], {}, list(range(99, 0, -1))  # free: the smallest unused digit is last

    def emit(u):
        out.append(atoms[u])
        closing = [p for p in rings[u] if p in digits]  # opened at an atom written earlier
        for p in closing:
            out.append(_digit(digits[p]))
        free.extend(digits.pop(p) for p in closing)
        free.sort(reverse=True)
        for p in rings[u]:
            if p not in closing:
                digits[p] = free.pop()
                out.append(symbol(*p) + _digit(digits[p]))
        for k, v in enumerate(children[u]):
            last = k == len(children[u]) - 1
            out.append(("" if last else "(") + symbol(u, v))
            emit(v)
            out.append("" if last else ")")
    emit(0)
    return "".join(out)


def random_molecule(num_atoms, rng=None):
    r"""A random small molecule of carbon, nitrogen and oxygen, as SMILES; every valence is respected.

    Elements are drawn with probabilities C 0.7, N 0.15, O 0.15. Atom
    :math:`k \ge 1` bonds to a uniformly chosen earlier atom that can take one
    more bond (a carbon, if atom :math:`k` is not and one is free): a random
    tree. With probability 1/2 one more bond closes a ring of 5 or 6 atoms, if
    two atoms at that distance can take it. Then, in random order, each bond to
    an end atom becomes triple with probability 0.05, and any bond double with
    probability 0.25, where both atoms can take the extra bonds.

    Parameters
    ----------
    num_atoms : int
        Number of heavy atoms, at least 1.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    str
        Written by :func:`write_smiles`.

    Raises
    ------
    TypeError, ValueError
        If ``num_atoms`` is not an integer >= 1 or ``rng`` is not a generator or seed.

    Examples
    --------
    >>> len(parse_smiles(random_molecule(7, rng=0))[0])
    7
    """
    n = check_int(num_atoms, "num_atoms", minimum=1)
    rng = check_rng(rng)
    atoms = [str(e) for e in rng.choice(["C", "N", "O"], size=n, p=[0.7, 0.15, 0.15])]
    free = np.array([VALENCE[a] for a in atoms])
    orders = {}
    carbon = np.array([a == "C" for a in atoms])
    for k in range(1, n):  # atom k - 1 can always take a bond, so there is a choice
        ok = free[:k] > 0
        prefer = ok & (carbon[:k] | carbon[k])  # no N-N, N-O or O-O bond where avoidable
        j = int(rng.choice(np.flatnonzero(prefer if prefer.any() else ok)))
        orders[j, k] = 1
        free[[j, k]] -= 1
    if n >= 5 and rng.random() < 0.5:
        dist = shortest_path(adjacency_matrix(np.array(list(orders)).T, n), unweighted=True, directed=False)
        u, v = np.nonzero(np.triu(np.isin(dist, (4, 5)) & (free[:, None] > 0) & (free[None, :] > 0)))
        if u.size:
            k = rng.integers(u.size)
            orders[int(u[k]), int(v[k])] = 1
            free[[u[k], v[k]]] -= 1
    degree = np.bincount(np.array(list(orders), dtype=np.int64).reshape(-1, 2).ravel(), minlength=n)
    pairs = list(orders)
    for i, j in [pairs[k] for k in rng.permutation(len(pairs))]:
        r = rng.random()
        if r < 0.05 and min(degree[i], degree[j]) == 1 and min(free[i], free[j]) >= 2:
            orders[i, j] = 3
        elif 0.05 <= r < 0.3 and min(free[i], free[j]) >= 1:
            orders[i, j] = 2
        free[[i, j]] -= orders[i, j] - 1
    return write_smiles(atoms, [(i, j, BOND_TYPES[o - 1]) for (i, j), o in orders.items()])
