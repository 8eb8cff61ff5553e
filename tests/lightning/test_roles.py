"""The node-role experiment: features from the graph, a baseline that works, a GCN that
trains (skipped without PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

from chainwatch.lightning.analysis import GraphReport, analyse
from chainwatch.lightning.graph import ChannelGraph
from chainwatch.lightning.loaders import load_snapshot
from chainwatch.lightning.roles import gcn
from chainwatch.lightning.roles.evaluate import cross_validate
from chainwatch.lightning.roles.features import FEATURES, normalised_adjacency, role_data

from .conftest import DESCRIBEGRAPH, FAST


def test_normalised_adjacency_is_the_kipf_welling_matrix() -> None:
    graph = load_snapshot(DESCRIBEGRAPH)
    data = role_data(graph, analyse(graph, FAST))
    n = len(data.pub_keys)
    a = np.eye(n)
    index = {p: i for i, p in enumerate(data.pub_keys)}
    for link in graph.peer_links:
        a[index[link.a], index[link.b]] = a[index[link.b], index[link.a]] = 1
    d = np.diag(1 / np.sqrt(a.sum(axis=1)))

    assert np.allclose(data.adjacency.toarray(), d @ a @ d)
    assert normalised_adjacency([], 2).toarray().tolist() == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.data
def test_features_come_from_the_graph_and_labels_from_the_source(
    ghigh: ChannelGraph, ghigh_report: GraphReport
) -> None:
    data = role_data(ghigh, ghigh_report)

    assert data.x.shape == (1924, len(FEATURES))
    assert np.isfinite(data.x).all()
    assert int(data.y.sum()) == sum(1 for n in ghigh.nodes if n.node_type)
    capacity = dict(zip(ghigh_report.nodes.pub_keys, ghigh_report.nodes.capacity_sat, strict=True))
    first = data.pub_keys[0]
    assert data.x[0, 0] == pytest.approx(np.log1p(capacity[first]))


@pytest.mark.data
def test_the_baseline_ranks_known_services_far_above_chance(
    ghigh: ChannelGraph, ghigh_report: GraphReport
) -> None:
    data = role_data(ghigh, ghigh_report)

    scores, _ = cross_validate(data, folds=3, seeds=(0,))
    logistic = next(s for s in scores if s.model == "logistic")

    assert logistic.roc_auc_mean > 0.8
    assert logistic.average_precision_mean > 5 * data.y.mean()


@pytest.mark.data
def test_gcn_trains_and_repeats_with_its_seed(gfree: ChannelGraph) -> None:
    pytest.importorskip("torch", reason="the GCN needs the gcn extra (PyTorch)")
    data = role_data(gfree, analyse(gfree, FAST))
    x = (data.x - data.x.mean(axis=0)) / data.x.std(axis=0)
    train = np.arange(0, len(data.y), 2)
    config = gcn.GcnConfig(epochs=60)

    proba, losses = gcn.fit_predict_proba(x, data.y, data.adjacency, train, config)
    again, _ = gcn.fit_predict_proba(x, data.y, data.adjacency, train, config)

    assert proba.shape == (len(data.y),)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert np.allclose(proba, again)
