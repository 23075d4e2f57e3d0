r"""Diagnostics of message passing: over-smoothing and over-squashing.

- Over-smoothing: :func:`dirichlet_energy` measures how different neighbours
  are; :func:`smoothing_rate` is the factor by which one GCN step shrinks it.
- Over-squashing: :func:`effective_resistance` (a global bottleneck measure)
  and :func:`jacobian_sensitivity` (how much input ``u`` can move output ``v``).
  The curvatures live in :mod:`mplib.curvature`.
- Heterophily lives in :mod:`mplib.homophily`.

Functions that take a ``graph`` accept its ``edge_index`` array (with
``num_nodes``) or an :class:`mplib.Graph`; convert a networkx graph first with
:func:`mplib.from_networkx` (node ``k`` is ``list(G)[k]``). Resistance,
smoothing rate and curvature need an undirected graph: every edge stored in
both directions, no edge repeated.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._validate import check_edge_index, check_features, check_graph, check_int, check_undirected
from .message_passing import adjacency_matrix

__all__ = ["dirichlet_energy", "smoothing_rate", "effective_resistance", "jacobian_sensitivity"]

OPERATORS = ("gcn", "mean", "sum")


def _gcn_operator(edge_index, n):
    r"""Sparse :math:`\hat S = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}`, self-loops of the input dropped."""
    src, dst = edge_index
    keep = src != dst
    a = adjacency_matrix(edge_index[:, keep], n) + sp.identity(n, format="csr")
    inv_sqrt = 1.0 / np.sqrt(np.asarray(a.sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(inv_sqrt) @ a @ sp.diags(inv_sqrt))


def dirichlet_energy(x, edge_index, normalized=False):
    r"""Dirichlet energy of node features: how much neighbours differ.

    .. math::
        E(x) = \frac{1}{2} \sum_{(j \to i)} \lVert x_i - x_j \rVert^2,
        \qquad
        E_{\mathrm{norm}}(x) = \frac{1}{2} \sum_{(j \to i)}
            \Big\lVert \frac{x_i}{\sqrt{1 + d_i}} - \frac{x_j}{\sqrt{1 + d_j}} \Big\rVert^2 .

    The sum runs over the columns of ``edge_index``; for an undirected graph
    (stored both ways) it counts each edge once, and :math:`E(x) = \mathrm{tr}(x^\top L x)`
    with the Laplacian :math:`L = D - A`. The normalised form is
    :math:`\mathrm{tr}(x^\top \tilde\Delta x)` with the augmented normalised
    Laplacian :math:`\tilde\Delta = I - \tilde D^{-1/2}(A + I)\tilde D^{-1/2}`
    of the GCN (Cai & Wang 2020): one GCN step shrinks it at least by
    :func:`smoothing_rate`, which is how over-smoothing drives it to zero.

    Parameters
    ----------
    x : array_like, shape (N, F) or (N,)
        Node features.
    edge_index : array_like of int, shape (2, E)
    normalized : bool, default False
        Use the degree-normalised energy; :math:`d_i` is the number of edges
        into ``i``, self-loops not counted.

    Returns
    -------
    float
        Zero exactly when the features are constant on every connected
        component (plain) or proportional to :math:`\sqrt{1 + d_i}` (normalised).

    Raises
    ------
    ValueError
        If ``x`` is not 1-D/2-D or holds NaN, or an edge refers to a missing node.

    Examples
    --------
    >>> ei = np.array([[0, 1, 1, 2], [1, 0, 2, 1]])      # path 0 - 1 - 2
    >>> dirichlet_energy(np.array([0.0, 1.0, 3.0]), ei)  # 1^2 + 2^2
    5.0

    Notes
    -----
    Self-loops contribute nothing to either form. A graph without edges has
    energy 0.

    References
    ----------
    C. Cai, Y. Wang, "A note on over-smoothing for graph neural networks", 2020.
    K. Oono, T. Suzuki, "Graph neural networks exponentially lose expressive
    power for node classification", ICLR 2020.
    """
    x = check_features(x, name="x", ndim=None)
    if x.ndim not in (1, 2):
        raise ValueError(f"`x` must have shape (N, F) or (N,), got shape {x.shape}")
    x = x.reshape(x.shape[0], -1)
    n = x.shape[0]
    src, dst = check_edge_index(edge_index, n)
    if normalized:
        deg = np.bincount(dst[src != dst], minlength=n)
        x = x / np.sqrt(1.0 + deg)[:, None]
    diff = x[dst] - x[src]
    return float(0.5 * np.sum(diff * diff))


def smoothing_rate(graph, num_nodes=None):
    r"""Factor by which one GCN step at least shrinks the normalised Dirichlet energy.

    .. math::
        E_{\mathrm{norm}}(\hat S x) \le s \, E_{\mathrm{norm}}(x), \qquad
        s = \max_{\mu \in \mathrm{spec}(\hat S),\ \mu \ne 1} \mu^2 ,
        \qquad \hat S = \tilde D^{-1/2}(A + I)\tilde D^{-1/2},

    where one eigenvalue :math:`\mu = 1` per connected component is left out
    (its eigenvector :math:`\tilde D^{1/2}\mathbf{1}` has zero energy). So
    :math:`E_{\mathrm{norm}}(\hat S^k x) \le s^k E_{\mathrm{norm}}(x)`: with
    :math:`s < 1` the energy decays exponentially, and the bound is attained by
    the eigenvector of the largest :math:`|\mu| \ne 1`.

    Parameters
    ----------
    graph : array_like of int, shape (2, E), or Graph
        An undirected graph; self-loops are ignored (the GCN adds its own).
    num_nodes : int, optional
        Only with an ``edge_index``; defaults to one more than its largest id.

    Returns
    -------
    float
        :math:`s \in [0, 1)`; 0 when no eigenvalue is left (a graph without edges).

    Raises
    ------
    ValueError
        If the graph is not undirected or repeats an edge.

    Examples
    --------
    >>> from mplib.generators import cycle_graph, path_graph
    >>> round(smoothing_rate(path_graph(2)), 6)  # S = [[1/2, 1/2], [1/2, 1/2]]
    0.0
    >>> round(smoothing_rate(cycle_graph(4).edge_index, num_nodes=4), 6)  # eigenvalues 1, 1/3, 1/3, -1/3
    0.111111

    Notes
    -----
    Uses a dense eigendecomposition: fine for the book's graphs (hundreds of nodes).

    References
    ----------
    C. Cai, Y. Wang, "A note on over-smoothing for graph neural networks", 2020.
    K. Oono, T. Suzuki, ICLR 2020.
    """
    edge_index, n = check_graph(graph, num_nodes)
    check_undirected(edge_index, n)
    if n == 0:
        return 0.0
    s_hat = _gcn_operator(edge_index, n).toarray()
    mu = np.linalg.eigvalsh((s_hat + s_hat.T) / 2)
    num_components = connected_components(s_hat != 0, directed=False)[0]
    rest = mu[: n - num_components]  # ascending; the top one per component is mu = 1
    return float(np.max(rest**2)) if rest.size else 0.0


def effective_resistance(graph, num_nodes=None):
    r"""Effective resistance between all pairs of nodes, each edge a 1-ohm resistor.

    .. math::
        R_{uv} = L^+_{uu} + L^+_{vv} - 2 L^+_{uv},

    with :math:`L^+` the pseudoinverse of the Laplacian :math:`L = D - A`.
    :math:`R_{uv}` is small when ``u`` and ``v`` are joined by many short
    paths and large across a bottleneck (Black et al. 2023 bound
    over-squashing by it); :math:`2|E|\,R_{uv}` is the expected commute time
    of a random walk from ``u`` to ``v`` and back.

    Parameters
    ----------
    graph : array_like of int, shape (2, E), or Graph
        An undirected graph; self-loops are ignored (no current flows through them).
    num_nodes : int, optional
        Only with an ``edge_index``; defaults to one more than its largest id.

    Returns
    -------
    ndarray of float64, shape (N, N)
        Symmetric, zero diagonal; ``np.inf`` for two nodes in different
        connected components (no path, no current).

    Raises
    ------
    ValueError
        If the graph is not undirected or repeats an edge.

    Examples
    --------
    >>> from mplib.generators import cycle_graph
    >>> R = effective_resistance(cycle_graph(4))
    >>> print(R[0, 1], R[0, 2])     # 1 || 3 ohm and 2 || 2 ohm
    0.75 1.0

    Notes
    -----
    Each connected component ``C`` (``m`` nodes) is inverted separately through
    :math:`L_C^+ = (L_C + \tfrac{1}{m}\mathbf{1}\mathbf{1}^\top)^{-1} - \tfrac{1}{m}\mathbf{1}\mathbf{1}^\top`,
    done for all components at once with one dense inverse. Foster's theorem
    :math:`\sum_{\{u,v\} \in E} R_{uv} = N - \#\text{components}` is a quick check.

    References
    ----------
    D. J. Klein, M. Randić, "Resistance distance", J. Math. Chem. 1993.
    M. Black, Z. Wan, A. Nayyeri, Y. Wang, "Understanding oversquashing in GNNs
    through the lens of effective resistance", ICML 2023.
    F. Di Giovanni et al., "On over-squashing in message passing neural
    networks: the impact of width, depth, and topology", ICML 2023.
    """
    edge_index, n = check_graph(graph, num_nodes)
    check_undirected(edge_index, n)
    if n == 0:
        return np.zeros((0, 0))
    keep = edge_index[0] != edge_index[1]
    a = adjacency_matrix(edge_index[:, keep], n).toarray()
    lap = np.diag(a.sum(axis=1)) - a
    _, label = connected_components(sp.csr_matrix(a), directed=False)
    same = label[:, None] == label[None, :]
    block = same / np.bincount(label)[label][None, :]
    pinv = np.linalg.inv(lap + block) - block
    pinv = (pinv + pinv.T) / 2
    diag = np.diag(pinv)
    r = np.maximum(diag[:, None] + diag[None, :] - 2 * pinv, 0.0)
    np.fill_diagonal(r, 0.0)
    r[~same] = np.inf
    return r


def jacobian_sensitivity(graph, num_layers, operator="gcn", num_nodes=None):
    r"""Sensitivity :math:`|\partial h^{(k)}_v / \partial x_u|` of ``k`` rounds of linear message passing.

    .. math::
        h^{(k)} = S^k x \quad\Longrightarrow\quad
        J_{vu} = \Big\lVert \frac{\partial h^{(k)}_v}{\partial x_u} \Big\rVert = \big|(S^k)_{vu}\big| ,

    with the propagation operator ``S`` chosen by ``operator``:

    - ``"gcn"``: :math:`S = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}`, one self-loop per
      node (those already in the input are dropped first), :math:`\tilde d_i = 1 + d_i`;
    - ``"mean"``: :math:`S = D^{-1} A`, the mean over in-neighbours (0 for a node without any);
    - ``"sum"``: :math:`S = A`.

    :math:`A_{ij}` counts the edges ``j -> i``. Over-squashing shows as a tiny
    :math:`J_{vu}` for nodes ``u``, ``v`` across a bottleneck, even with
    ``num_layers`` equal to their distance (Topping et al. 2022, Di Giovanni et al. 2023).

    Parameters
    ----------
    graph : array_like of int, shape (2, E), or Graph
        Directed graphs are allowed; messages flow ``j -> i``.
    num_layers : int
        Number of rounds ``k >= 0`` (``k = 0`` gives the identity).
    operator : {"gcn", "mean", "sum"}, default "gcn"
    num_nodes : int, optional
        Only with an ``edge_index``; defaults to one more than its largest id.

    Returns
    -------
    ndarray of float64, shape (N, N)
        Row ``v`` is the output node, column ``u`` the input node. Zero when
        ``u`` is more than ``num_layers`` hops upstream of ``v``.

    Raises
    ------
    ValueError
        On an unknown ``operator`` or a negative ``num_layers``.

    Examples
    --------
    >>> J = jacobian_sensitivity([[0, 1, 1, 2], [1, 0, 2, 1]], 2, operator="mean")  # path 0-1-2
    >>> J[0]    # h_0 = x_1 after one step; x_0 / 2 + x_2 / 2 after two
    array([0.5, 0. , 0.5])

    Notes
    -----
    With ``F`` feature channels the Jacobian block of a pair is
    :math:`(S^k)_{vu} I_F`, whose operator norm is :math:`|(S^k)_{vu}|` for
    every ``F``; that is why no features are needed. A nonlinear MPNN obeys
    the bound :math:`J_{vu} \le c^k (S^k)_{vu}` with ``c`` a Lipschitz/weight
    constant, so these entries are the graph's part of the story.

    References
    ----------
    J. Topping, F. Di Giovanni, B. P. Chamberlain, X. Dong, M. M. Bronstein,
    "Understanding over-squashing and bottlenecks on graphs via curvature", ICLR 2022.
    F. Di Giovanni et al., ICML 2023.
    """
    edge_index, n = check_graph(graph, num_nodes)
    k = check_int(num_layers, "num_layers")
    if operator not in OPERATORS:
        raise ValueError(f"`operator` must be one of {OPERATORS}, got {operator!r}")
    if operator == "gcn":
        s = _gcn_operator(edge_index, n)
    else:
        s = adjacency_matrix(edge_index, n)
        if operator == "mean":
            deg = np.asarray(s.sum(axis=1)).ravel()
            s = sp.csr_matrix(sp.diags(np.divide(1.0, deg, out=np.zeros(n), where=deg > 0)) @ s)
    out = np.eye(n)
    for _ in range(k):
        out = s @ out
    return np.abs(out)
