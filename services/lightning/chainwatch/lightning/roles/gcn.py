"""A two-layer graph convolutional network for node roles (Kipf and Welling, 2017).

    logit = Â · relu(Â · X · W1) · W2,   Â = D^-1/2 (A + I) D^-1/2

Each layer mixes a node's features with its channel partners', so after two layers a node
is described by its neighbourhood two hops out. Trained full-batch and transductively: the
whole graph is seen, only the training nodes' labels are. The loss is binary cross-entropy
weighted by the class ratio (few nodes are labelled). Needs PyTorch (the ``gcn`` extra);
``available()`` says whether it is importable. Outputs are probabilities.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


@dataclass(frozen=True)
class GcnConfig:
    hidden: int = 32
    dropout: float = 0.5
    learning_rate: float = 0.01
    weight_decay: float = 5e-4
    epochs: int = 200
    seed: int = 0


def fit_predict_proba(
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    adjacency: sp.csr_matrix,
    train: npt.NDArray[np.int64],
    config: GcnConfig | None = None,
) -> tuple[npt.NDArray[np.float64], list[float]]:
    """Train on the nodes ``train`` (indices) and return every node's probability of the
    positive class, with the training loss per epoch. ``x`` should be standardised."""
    import torch  # the optional extra: imported only when a GCN is asked for

    config = config or GcnConfig()
    torch.manual_seed(config.seed)
    coo = adjacency.tocoo()
    a_hat = torch.sparse_coo_tensor(
        np.vstack([coo.row, coo.col]), coo.data.astype(np.float32), coo.shape
    ).coalesce()
    features = torch.tensor(x, dtype=torch.float32)
    labels = torch.tensor(y[train], dtype=torch.float32)
    train_index = torch.tensor(train, dtype=torch.long)

    layer1 = torch.nn.Linear(x.shape[1], config.hidden)
    layer2 = torch.nn.Linear(config.hidden, 1)
    parameters = [*layer1.parameters(), *layer2.parameters()]
    optimiser = torch.optim.Adam(
        parameters, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    positives = float(labels.sum())
    pos_weight = torch.tensor((len(labels) - positives) / max(positives, 1.0))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)

    def forward(training: bool) -> torch.Tensor:
        h = torch.relu(torch.sparse.mm(a_hat, layer1(features)))
        h = torch.nn.functional.dropout(h, config.dropout, training=training)
        return torch.sparse.mm(a_hat, layer2(h)).squeeze(1)

    losses = []
    for _ in range(config.epochs):
        optimiser.zero_grad()
        loss = loss_fn(forward(training=True)[train_index], labels)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())

    with torch.no_grad():
        proba = torch.sigmoid(forward(training=False)).numpy().astype(np.float64)
    return proba, losses
