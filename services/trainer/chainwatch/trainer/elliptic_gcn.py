"""A two-layer graph convolutional network on the Elliptic graph (needs PyTorch: ``[gcn]`` extra).

Kipf and Welling's propagation, as Weber et al. used it: ``H1 = ReLU(Â X W0)``,
``logits = Â H1 W1`` with ``Â = D^-1/2 (A + I) D^-1/2`` over the undirected payment graph;
100 hidden units, Adam at 0.001, a weighted cross-entropy (illicit 0.7, licit 0.3), full
batch, trained on the labelled nodes of steps 1-34. Features are standardised on the
training nodes. Returns the probability of illicit for every node.

Not exercised by the test suite of this repository unless PyTorch is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import torch

    from chainwatch.trainer.elliptic import EllipticData

HIDDEN = 100
EPOCHS = 1000
LEARNING_RATE = 0.001
CLASS_WEIGHTS = (0.3, 0.7)  # licit, illicit


def gcn_proba(
    data: EllipticData, seed: int, threads: int = 1, epochs: int = EPOCHS
) -> npt.NDArray[np.float64]:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    n = len(data.labels)
    train = data.train_mask

    mean, std = data.x[train].mean(axis=0), data.x[train].std(axis=0) + 1e-9
    x = torch.tensor((data.x - mean) / std, dtype=torch.float32)
    adjacency = _normalised_adjacency(data.edges, n)
    labels = torch.tensor(np.where(data.labels == 1, 1, 0), dtype=torch.long)
    train_index = torch.tensor(np.flatnonzero(train), dtype=torch.long)

    w0 = torch.nn.Linear(x.shape[1], HIDDEN)
    w1 = torch.nn.Linear(HIDDEN, 2)
    optimiser = torch.optim.Adam([*w0.parameters(), *w1.parameters()], lr=LEARNING_RATE)
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(CLASS_WEIGHTS))

    def forward() -> torch.Tensor:
        hidden = torch.relu(torch.sparse.mm(adjacency, w0(x)))
        return torch.sparse.mm(adjacency, w1(hidden))

    for _ in range(epochs):
        optimiser.zero_grad()
        loss = loss_fn(forward()[train_index], labels[train_index])
        loss.backward()
        optimiser.step()

    with torch.no_grad():
        proba = torch.softmax(forward(), dim=1)[:, 1]
    return np.asarray(proba.numpy(), dtype=np.float64)


def _normalised_adjacency(edges: npt.NDArray[np.int64], n: int) -> torch.Tensor:
    import torch

    rows = np.concatenate([edges[:, 0], edges[:, 1], np.arange(n)])
    cols = np.concatenate([edges[:, 1], edges[:, 0], np.arange(n)])
    degree = np.bincount(rows, minlength=n).astype(np.float64)
    values = 1.0 / np.sqrt(degree[rows] * degree[cols])
    index = torch.tensor(np.vstack([rows, cols]), dtype=torch.long)
    return torch.sparse_coo_tensor(index, torch.tensor(values, dtype=torch.float32), (n, n))
