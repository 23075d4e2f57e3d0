r"""Training: initialisation, optimisers, the training loop, evaluation.

Usage guide
-----------
A model is a function ``model(params, data, training, rng)`` returning one row
of class scores (logits) per prediction target: per node for node
classification, per graph for graph classification. ``params`` is a ``dict`` of
numpy arrays, ``data`` whatever the model needs (a :class:`~mplib.graph.Graph`,
or a graph and a batch vector). Train it with :func:`fit`:

>>> import networkx as nx
>>> from mplib.graph import from_networkx
>>> from mplib.nn import gcn_conv
>>> from mplib.functional import relu, dropout
>>> from mplib.data import split_per_class
>>> g = from_networkx(nx.karate_club_graph(), y="club")
>>> y = (g.y == "Officer").astype(int)                         # two clubs: 0 and 1
>>> x = np.eye(g.num_nodes)                                   # one-hot identity features
>>> def gcn(p, data, training, rng):
...     h = relu(gcn_conv(x, data.edge_index, p["W1"], p["b1"]))
...     h = dropout(h, 0.5, training=training, rng=rng)
...     return gcn_conv(h, data.edge_index, p["W2"], p["b2"])
>>> params = init_params({"W1": (34, 16), "b1": (16,), "W2": (16, 2), "b2": (2,)}, rng=0)
>>> train_idx, _, test_idx = split_per_class(y, 2, rng=0)       # 2 labels per club
>>> params, history = fit(gcn, params, g, y, train_idx, epochs=100, rng=0, verbose=False)
>>> accuracy(predict(gcn, params, g)[test_idx], y[test_idx]) > 0.8
True

With a validation set, ``fit(..., val_idx=val_idx, patience=20)`` stops once
the validation loss has not improved for 20 epochs and returns the parameters
of the best epoch; ``history`` holds the curves to plot (``history.loss``,
``history.val_acc``, ...) and ``history.best_epoch``. The display prints a line
every ``epochs // 10`` epochs; ``verbose=False`` silences it.

The optimisers (:class:`SGD`, :class:`Adam`) and :func:`fit` never modify the
arrays they are given: every step returns a new ``dict`` of parameters. The
same ``rng`` seed gives the same numbers, bit for bit.

Speed: a step costs a few array operations per layer plus some Python overhead.
For a GCN, compute the normalised adjacency once, ``adj = gcn_norm(edge_index, N)``
(:func:`mplib.nn.gcn_norm`), and pass ``adj=adj`` to every :func:`~mplib.nn.gcn_conv`:
the karate-club GCN then trains 200 epochs in about 0.1 s.

For graph classification, :func:`mplib.data.batch_graphs` merges a list of graphs into
one disjoint graph plus a ``batch`` vector naming each node's graph, and
:func:`mplib.functional.global_pool` reads out one row per graph.
"""

import dataclasses

import numpy as np

from ._validate import check_int, check_real, check_rng, check_segment_index
from .autograd import as_tensor, unwrap, value_and_grad
from .functional import cross_entropy

__all__ = ["glorot", "init_params", "SGD", "Adam", "History", "fit", "predict", "accuracy",
           "confusion_matrix"]


# ---------------------------------------------------------------------- initialisation

def glorot(shape, rng=None):
    r"""Glorot (Xavier) uniform initialisation: :math:`U(-a, a)`, :math:`a = \sqrt{6 / (F_{\mathrm{in}} + F_{\mathrm{out}})}`.

    Keeps the variance of activations and of gradients roughly constant from
    layer to layer. The fans are the last two axes (as PyG's ``glorot``), so
    GAT's ``(heads, F_out)`` attention vectors are covered too.

    Parameters
    ----------
    shape : tuple of int, at least 2-D
    rng : numpy.random.Generator, int or None

    Returns
    -------
    ndarray of float64, shape ``shape``

    Raises
    ------
    ValueError
        If ``shape`` has fewer than two axes.

    References
    ----------
    X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
    feedforward neural networks", AISTATS 2010.

    Examples
    --------
    >>> w = glorot((3, 5), rng=0)
    >>> w.shape, bool(np.all(np.abs(w) <= np.sqrt(6 / 8)))
    ((3, 5), True)
    """
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if len(shape) < 2:
        raise ValueError(f"`shape` must have at least two axes (fan in, fan out), got {shape}")
    a = np.sqrt(6.0 / max(shape[-2] + shape[-1], 1))
    return check_rng(rng).uniform(-a, a, shape)


def init_params(shapes, rng=None):
    """Fresh parameters: :func:`glorot` for every matrix, zeros for every vector (biases).

    Parameters
    ----------
    shapes : dict of str to tuple of int
        E.g. ``{"W1": (34, 16), "b1": (16,)}``; drawn in the order of the dict.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    dict of str to ndarray

    Examples
    --------
    >>> p = init_params({"W": (2, 3), "b": (3,)}, rng=0)
    >>> p["W"].shape, p["b"]
    ((2, 3), array([0., 0., 0.]))
    """
    rng = check_rng(rng)
    return {name: np.zeros(shape) if len(np.atleast_1d(shape)) == 1 else glorot(shape, rng)
            for name, shape in shapes.items()}


# ---------------------------------------------------------------------- optimisers

class SGD:
    r"""Stochastic gradient descent with optional momentum and L2 weight decay.

    .. math::
        g \leftarrow \nabla_\theta L + \lambda \theta, \qquad
        v \leftarrow \mu v + g, \qquad \theta \leftarrow \theta - \eta\, v

    (PyTorch's ``SGD``; with :math:`\mu = 0` simply :math:`\theta - \eta g`.)

    Parameters
    ----------
    lr : float, default 0.01
        :math:`\eta`.
    momentum : float, default 0.0
        :math:`\mu`.
    weight_decay : float, default 0.0
        :math:`\lambda`.

    Examples
    --------
    >>> SGD(lr=0.1).step({"w": np.array([1.0])}, {"w": np.array([2.0])})
    {'w': array([0.8])}
    """

    def __init__(self, lr=0.01, momentum=0.0, weight_decay=0.0):
        self.lr, self.momentum = check_real(lr, "lr"), check_real(momentum, "momentum")
        self.weight_decay = check_real(weight_decay, "weight_decay")
        self.reset()

    def reset(self):
        """Forget the momentum (``fit`` calls this before training)."""
        self.velocity = {}

    def step(self, params, grads):
        """Return the updated parameters (a new dict; ``params`` is not modified)."""
        new = {}
        for k, p in params.items():
            g = grads[k] + self.weight_decay * p
            if self.momentum:
                if k in self.velocity:  # the first step starts the velocity at g
                    g = self.momentum * self.velocity[k] + g
                self.velocity[k] = g
            new[k] = p - self.lr * g
        return new


class Adam:
    r"""Adam: steps scaled by running estimates of the gradient's mean and square.

    .. math::
        g &\leftarrow \nabla_\theta L + \lambda \theta, \quad
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \\
        \theta &\leftarrow \theta - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    at step :math:`t = 1, 2, \ldots` with :math:`m = v = 0` at the start (the
    divisions undo that zero start). Weight decay is the L2 form of PyTorch's ``Adam``.

    Parameters
    ----------
    lr : float, default 0.01
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0.0

    References
    ----------
    D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    Examples
    --------
    The first step moves every parameter by about ``lr``, whatever the gradient's size:

    >>> Adam(lr=0.1).step({"w": np.array([1.0, 1.0])}, {"w": np.array([0.5, 50.0])})
    {'w': array([0.9, 0.9])}
    """

    def __init__(self, lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr, self.eps = check_real(lr, "lr"), check_real(eps, "eps")
        self.beta1, self.beta2 = (check_real(b, "betas") for b in betas)
        self.weight_decay = check_real(weight_decay, "weight_decay")
        self.reset()

    def reset(self):
        """Forget the moments and the step count (``fit`` calls this before training)."""
        self.t, self.m, self.v = 0, {}, {}

    def step(self, params, grads):
        """Return the updated parameters (a new dict; ``params`` is not modified)."""
        self.t += 1
        new = {}
        for k, p in params.items():
            g = grads[k] + self.weight_decay * p
            self.m[k] = self.beta1 * self.m.get(k, 0.0) + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v.get(k, 0.0) + (1 - self.beta2) * g * g
            m_hat = self.m[k] / (1 - self.beta1 ** self.t)
            v_hat = self.v[k] / (1 - self.beta2 ** self.t)
            new[k] = p - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return new


# ---------------------------------------------------------------------- the training loop

@dataclasses.dataclass
class History:
    """What :func:`fit` measured, one entry per epoch (``val_*`` empty without a validation set).

    Attributes
    ----------
    loss : list of float
        Training loss of each epoch (computed in training mode, before the update).
    train_acc, val_acc, val_loss : list of float
        Measured in evaluation mode after the epoch's update.
    best_epoch : int
        Epoch (from 0) whose parameters :func:`fit` returned.
    stopped_early : bool
        Whether early stopping ended training before ``epochs``.
    """

    loss: list = dataclasses.field(default_factory=list)
    train_acc: list = dataclasses.field(default_factory=list)
    val_loss: list = dataclasses.field(default_factory=list)
    val_acc: list = dataclasses.field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False

    @property
    def epochs(self):
        """Number of epochs run."""
        return len(self.loss)


def fit(model, params, data, y, train_idx, val_idx=None, *, optimizer=None, epochs=200, patience=None,
        monitor="val_loss", rng=None, verbose=True):
    r"""Train ``model`` by full-batch gradient descent on the cross-entropy of the ``train_idx`` rows.

    Each epoch: one forward pass in training mode, the backward pass, one
    optimiser step; then one forward pass in evaluation mode (no dropout) to
    measure accuracy (and validation loss). With a validation set, the
    parameters of the best epoch by ``monitor`` are returned, and training stops
    once ``patience`` epochs have passed without improvement.

    Parameters
    ----------
    model : callable
        ``model(params, data, training, rng)`` returns a Tensor of logits, shape
        ``(M, C)``: one row per target (node or graph), one column per class.
    params : dict of str to ndarray
        Starting parameters, e.g. from :func:`init_params`. Not modified.
    data : any
        Passed to ``model`` unchanged (a Graph, a ``(graph, batch)`` pair, ...).
    y : array_like of int, shape (M,)
        Class of every target row.
    train_idx : array_like of int, shape (M_train,)
        Rows whose loss is minimised.
    val_idx : array_like of int, optional
        Rows used for model selection and early stopping.
    optimizer : SGD or Adam, optional
        Default ``Adam(lr=0.01)``. Reset before training, so a run never depends on a previous one.
    epochs : int, default 200
    patience : int, optional
        Stop after this many epochs without improvement of ``monitor`` (needs ``val_idx``).
    monitor : {"val_loss", "val_acc", "val_loss_and_acc"}, default "val_loss"
        Lower loss or higher accuracy counts as improvement (strictly).
        ``"val_loss_and_acc"`` is the rule of Veličković et al.'s GAT code: an
        epoch whose validation loss is at most the lowest so far *or* whose
        accuracy is at least the highest so far restarts the patience count,
        and the parameters returned are those of the last epoch at which *both*
        were at their best so far (ties count).
    rng : numpy.random.Generator, int or None
        Handed to ``model`` for dropout; a seed makes the run reproducible bit for bit.
    verbose : bool or int, default True
        Print a line of progress every ``epochs // 10`` epochs (``True``), every
        ``verbose`` epochs (an int), or never (``False`` or 0).

    Returns
    -------
    params : dict of str to ndarray
        The best parameters (with ``val_idx``) or the last ones.
    history : History

    Raises
    ------
    ValueError
        If ``patience`` is given without ``val_idx``, ``monitor`` is unknown,
        or ``model`` does not return one row per label.

    Examples
    --------
    See the module docstring.
    """
    epochs = check_int(epochs, "epochs", minimum=1)
    if monitor not in ("val_loss", "val_acc", "val_loss_and_acc"):
        raise ValueError(f"`monitor` must be 'val_loss', 'val_acc' or 'val_loss_and_acc', got {monitor!r}")
    if patience is not None:
        patience = check_int(patience, "patience", minimum=1)
        if val_idx is None:
            raise ValueError("`patience` needs a validation set: pass `val_idx`")
    y = np.asarray(y)
    optimizer = Adam(lr=0.01) if optimizer is None else optimizer
    optimizer.reset()
    rng = check_rng(rng)
    every = 0 if verbose is False else max(epochs // 10, 1) if verbose is True else check_int(verbose, "verbose")
    sign = 1.0 if monitor == "val_loss" else -1.0  # minimise sign * metric
    history, best, best_params = History(), np.inf, params
    lowest_loss, highest_acc, last_improved = np.inf, -np.inf, -1  # for "val_loss_and_acc"

    def loss_fn(p):
        logits = as_tensor(model(p, data, training=True, rng=rng))
        if logits.ndim != 2 or logits.shape[0] != y.shape[0]:
            raise ValueError(f"`model` must return one row per label ({y.shape[0]}), got shape {logits.shape}")
        return cross_entropy(logits, y, train_idx)

    for epoch in range(epochs):
        loss, grads = value_and_grad(loss_fn, params)
        params = optimizer.step(params, grads)
        logits = unwrap(model(params, data, training=False, rng=rng))  # plain arrays: nothing recorded
        history.loss.append(loss)
        history.train_acc.append(accuracy(logits[train_idx], y[train_idx]))
        line = f"epoch {epoch + 1:>4}/{epochs}  loss {loss:.4f}  train_acc {history.train_acc[-1]:.3f}"
        if val_idx is not None:
            history.val_loss.append(cross_entropy(logits, y, val_idx))
            history.val_acc.append(accuracy(logits[val_idx], y[val_idx]))
            line += f"  val_loss {history.val_loss[-1]:.4f}  val_acc {history.val_acc[-1]:.3f}"
            if monitor == "val_loss_and_acc":
                loss_ok, acc_ok = history.val_loss[-1] <= lowest_loss, history.val_acc[-1] >= highest_acc
                if loss_ok and acc_ok:
                    best_params, history.best_epoch = params, epoch
                if loss_ok or acc_ok:
                    last_improved = epoch
                lowest_loss = min(lowest_loss, history.val_loss[-1])
                highest_acc = max(highest_acc, history.val_acc[-1])
            else:
                score = sign * getattr(history, monitor)[-1]
                if score < best:
                    best, best_params, history.best_epoch = score, params, epoch
                last_improved = history.best_epoch
        if every and ((epoch + 1) % every == 0 or epoch == 0):
            print(line)
        if patience is not None and epoch - last_improved >= patience:
            history.stopped_early = True
            break
    if val_idx is None:
        best_params, history.best_epoch = params, history.epochs - 1
    if every:
        stop = f"stopped early after {history.epochs} epochs" if history.stopped_early \
            else f"trained {history.epochs} epochs"
        print(f"{stop}; returning the parameters of epoch {history.best_epoch + 1}")
    return best_params, history


# ---------------------------------------------------------------------- evaluation

def predict(model, params, data):
    """The predicted class of every target: the ``argmax`` of the logits in evaluation mode.

    Parameters
    ----------
    model, params, data
        As for :func:`fit`; ``model`` is called with ``training=False`` (no dropout).

    Returns
    -------
    ndarray of int64, shape (M,)

    Examples
    --------
    >>> predict(lambda p, data, training, rng: data @ p["W"], {"W": np.eye(2)}, np.array([[0.2, 0.9]]))
    array([1])
    """
    return np.argmax(unwrap(model(params, data, training=False, rng=None)), axis=1)


def accuracy(pred, y):
    """The fraction of correct predictions.

    Parameters
    ----------
    pred : array_like, shape (M,) of int or (M, C) of scores
        Predicted classes, or scores whose row-wise argmax is the prediction.
    y : array_like of int, shape (M,)

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the lengths disagree or there is nothing to score.

    Examples
    --------
    >>> accuracy([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], [1, 0, 0])
    0.6666666666666666
    """
    pred, y = np.asarray(pred), np.asarray(y)
    if pred.ndim == 2:
        pred = np.argmax(pred, axis=1)
    if pred.shape != y.shape or y.ndim != 1:
        raise ValueError(f"`pred` must have one entry (or row) per label, got shapes {pred.shape} and {y.shape}")
    if y.size == 0:
        raise ValueError("`y` is empty: there is nothing to score")
    return float(np.mean(pred == y))


def confusion_matrix(y_true, y_pred, num_classes=None):
    r"""Counts :math:`C_{ab}` = number of targets of true class :math:`a` predicted as :math:`b`.

    Rows are true classes, columns predictions (as scikit-learn); the diagonal
    holds the correct ones, so ``C.trace() / C.sum()`` is the accuracy.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (M,)
    num_classes : int, optional
        Default: one more than the largest class seen.

    Returns
    -------
    ndarray of int64, shape (num_classes, num_classes)

    Raises
    ------
    ValueError
        If the lengths disagree or a class is negative or ``>= num_classes``.

    Examples
    --------
    >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1])
    array([[1, 1],
           [0, 2]])
    """
    y_true = np.asarray(y_true)
    if num_classes is None:
        both = np.concatenate([np.ravel(y_true), np.ravel(y_pred)]).astype(np.int64)
        num_classes = int(both.max()) + 1 if both.size else 0
    num_classes = check_int(num_classes, "num_classes")
    y_true = check_segment_index(y_true, "y_true", num_classes)
    y_pred = check_segment_index(y_pred, "y_pred", num_classes, length=y_true.shape[0])
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)
