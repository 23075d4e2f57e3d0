"""mplib: the numpy reference package of the course book *Message Passing*.

Every figure and number in the book, and every hidden test of the exercises,
is computed with these functions. The package is deliberately small and flat;
each module holds one idea of the book:

- :mod:`mplib.graph`: the :class:`Graph` container, networkx in and out, self-loops.
- :mod:`mplib.aggregation`: :func:`scatter` (sum, mean, max, min) and segment softmax.
- :mod:`mplib.message_passing`: :func:`propagate`, one round of ψ, ⊕, φ.
- :mod:`mplib.generators`: every graph the book discusses (WL pairs, barbell, CSBM, ...).
- :mod:`mplib.plotting`: the book's figures (``import mplib.plotting``; not loaded by default).
- :mod:`mplib.wl`: 1-WL colour refinement and the WL test.
- :mod:`mplib.hops`: beyond one hop: shortest-path virtual edges, K-hop propagate, SPD-WL.
- :mod:`mplib.diagnostics`: Dirichlet energy, smoothing rate, effective resistance, sensitivity.
- :mod:`mplib.homophily`: homophily measures and the (1 - 2α) effect of averaging.
- :mod:`mplib.curvature`: balanced Forman and Ollivier–Ricci curvature of edges.
- :mod:`mplib.autograd`, :mod:`mplib.functional`, :mod:`mplib.nn`, :mod:`mplib.train`,
  :mod:`mplib.data`: learning in numpy (a tiny autodiff whose primitives take arrays or
  tensors, activations and loss, optimisers, a training loop, batching). The layers are
  the same functions when training: ``mplib.nn.gcn_conv is mplib.gcn_conv``.
- :mod:`mplib.belief_propagation`: the Ising model: exact marginals, belief propagation, mean field.
- :mod:`mplib.molecules`: molecules from SMILES with atom and bond-type features.
- :mod:`mplib.vision`: images as grid graphs, k-nearest-neighbour graphs of point clouds.
- :mod:`mplib.layers`: GCN, GraphSAGE, GIN, GAT, NNConv and EdgeConv as pure functions.
- :mod:`mplib.remedies`: PairNorm, APPNP propagation, jumping knowledge, virtual node,
  fully adjacent edges, resistance rewiring (over-smoothing and over-squashing remedies).
- :mod:`mplib.expressivity`: past 1-WL (node marking, peripheral information), cycle counts,
  readouts, cluster pooling.
- :mod:`mplib.transformer`: Laplacian and random-walk encodings, dot-product attention.
"""

from . import autograd, data, functional, nn, train
from . import datasets  # the real data sets: mplib.datasets.load("cora")
from .belief_propagation import (
    MAX_EXACT_NODES,
    BPResult,
    MeanFieldResult,
    ising_bp,
    ising_exact_marginals,
    ising_mean_field,
    reverse_edges,
)
from .curvature import balanced_forman_curvature, ollivier_ricci_curvature
from .diagnostics import dirichlet_energy, effective_resistance, jacobian_sensitivity, smoothing_rate
from .generators import (
    cycle_graph,
    path_graph,
    complete_graph,
    star_graph,
    grid_graph,
    grid_positions,
    tree,
    barbell_graph,
    complete_bipartite_graph,
    two_triangles,
    k33,
    triangular_prism,
    wl_pairs,
    heterophilous_graph,
    random_graph,
    contextual_sbm,
)
from .graph import Graph, add_self_loops, from_networkx, remove_self_loops, to_networkx, to_undirected
from .homophily import class_homophily, edge_homophily, mix_with_neighbours, node_homophily
from .hops import UNREACHABLE, khop_propagate, shortest_path_edges, spd_graph, spd_wl_colors, spd_wl_test
from .layers import edge_conv, gat_conv, gcn_conv, gcn_norm, gin_conv, make_mlp, nn_conv, sage_conv
from .message_passing import adjacency_matrix, propagate
from .molecules import ATOM_TYPES, BOND_TYPES, molecule_graph, parse_smiles, random_molecule, write_smiles
from .aggregation import scatter, segment_softmax
from .vision import digit_image, image_to_graph, knn_graph, outline_points
from .remedies import (add_virtual_node, appnp_propagate, fully_adjacent_edges, jumping_knowledge, pairnorm,
                       propagation_sweep, resistance_rewiring, total_resistance)
from .expressivity import (cluster_pool, count_cycles, peripheral_features, readout, refinement_invariants,
                           shortest_path_matrix)
from .transformer import attention_conv, laplacian_pe, random_walk_pe
from .wl import WLResult, wl_colors, wl_history, wl_test

__all__ = [
    "Graph",
    "from_networkx",
    "to_networkx",
    "add_self_loops",
    "remove_self_loops",
    "to_undirected",
    "scatter",
    "segment_softmax",
    "propagate",
    "adjacency_matrix",
    "gcn_norm",
    "gcn_conv",
    "sage_conv",
    "gin_conv",
    "gat_conv",
    "nn_conv",
    "edge_conv",
    "make_mlp",
    "cycle_graph",
    "path_graph",
    "complete_graph",
    "star_graph",
    "grid_graph",
    "grid_positions",
    "tree",
    "barbell_graph",
    "complete_bipartite_graph",
    "two_triangles",
    "k33",
    "triangular_prism",
    "wl_pairs",
    "heterophilous_graph",
    "random_graph",
    "contextual_sbm",
    "wl_colors",
    "wl_history",
    "wl_test",
    "WLResult",
    "shortest_path_edges",
    "khop_propagate",
    "spd_graph",
    "spd_wl_colors",
    "spd_wl_test",
    "UNREACHABLE",
    "dirichlet_energy",
    "smoothing_rate",
    "effective_resistance",
    "jacobian_sensitivity",
    "edge_homophily",
    "node_homophily",
    "class_homophily",
    "mix_with_neighbours",
    "balanced_forman_curvature",
    "ollivier_ricci_curvature",
    "image_to_graph",
    "knn_graph",
    "digit_image",
    "outline_points",
    "ising_exact_marginals",
    "ising_bp",
    "ising_mean_field",
    "reverse_edges",
    "BPResult",
    "MeanFieldResult",
    "MAX_EXACT_NODES",
    "ATOM_TYPES",
    "BOND_TYPES",
    "parse_smiles",
    "molecule_graph",
    "write_smiles",
    "random_molecule",
    "pairnorm",
    "propagation_sweep",
    "appnp_propagate",
    "jumping_knowledge",
    "add_virtual_node",
    "fully_adjacent_edges",
    "total_resistance",
    "resistance_rewiring",
    "peripheral_features",
    "refinement_invariants",
    "count_cycles",
    "readout",
    "cluster_pool",
    "laplacian_pe",
    "random_walk_pe",
    "shortest_path_matrix",
    "attention_conv",
]
