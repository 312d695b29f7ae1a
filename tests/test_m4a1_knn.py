"""LCIO's own k-NN quality model with shared ties: the mean over every order of equidistant
points, so that its predictions do not depend on the order its training points are stored in."""

import itertools

import numpy as np

from policies.base import ActionSpace
from policies.m4a1.simulator import EPS, QualityModel, tie_mean, tie_shares


def _order_knn(d2: np.ndarray, q: np.ndarray, order: tuple[int, ...], k: int) -> float:
    """k-NN that breaks ties by `order` (rank of each point): the thing `tie_mean` averages."""
    rank = np.empty(len(order), dtype=int)
    rank[list(order)] = np.arange(len(order))
    idx = sorted(range(len(d2)), key=lambda i: (d2[i], rank[i]))[:k]
    w = 1.0 / (np.sqrt(d2[idx]) + EPS)
    return float((w * q[idx]).sum() / w.sum())


def test_shared_ties_equal_the_mean_over_every_tie_order() -> None:
    d2 = np.array([1.0, 4.0, 4.0, 4.0, 9.0, 0.0])
    q = np.array([0.5, 1.0, 2.0, 4.0, 3.0, 1.5])
    k = 3  # points 5 and 0 are in; one of the three at distance 2 takes the last slot
    shares = tie_shares(d2[None, :], k)[0]
    np.testing.assert_allclose(shares, [1, 1 / 3, 1 / 3, 1 / 3, 0, 1])
    assert shares.sum() == k
    # every point at the k-th distance has the same weight, so the shared mean is the mean
    # of the order-dependent k-NN over all orders of the points
    orders = list(itertools.permutations(range(len(d2))))
    mean = np.mean([_order_knn(d2, q, o, k) for o in orders])
    assert abs(tie_mean(d2[None, :], q, k)[0] - mean) < 1e-12


def test_no_tie_at_the_kth_distance_is_plain_knn() -> None:
    d2 = np.array([[1.0, 2.0, 3.0, 5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(tie_shares(d2, 3), [[1, 1, 1, 0, 0, 0]])


def test_shared_ties_make_the_model_independent_of_point_order() -> None:
    rng = np.random.default_rng(0)
    space = ActionSpace()
    points = rng.integers(-1, 3, size=(120, 29)).astype(np.float64)  # small integers: many ties
    quality = rng.uniform(0, 4, size=120)
    queries = rng.integers(-1, 3, size=(300, 29)).astype(np.float64)
    perm = rng.permutation(120)
    shared = QualityModel(points, quality, space, ties=True)
    shuffled = QualityModel(points[perm], quality[perm], space, ties=True)
    np.testing.assert_allclose(shared.predict(queries), shuffled.predict(queries), rtol=0, atol=1e-12)
    ordered = QualityModel(points, quality, space)
    reordered = QualityModel(points[perm], quality[perm], space)
    assert not np.allclose(ordered.predict(queries), reordered.predict(queries))


def test_the_tie_setting_survives_saving() -> None:
    space = ActionSpace()
    m = QualityModel(np.zeros((6, 29)), np.arange(6.0), space, ties=True)
    assert QualityModel.from_dict(m.to_dict()).ties is True
    legacy = m.to_dict()
    del legacy["ties"]  # artifacts written before the setting existed load as order-broken k-NN
    assert QualityModel.from_dict(legacy).ties is False


def test_sparse_tie_mean_equals_the_dense_definition() -> None:
    rng = np.random.default_rng(1)
    d2 = rng.integers(0, 6, size=(200, 40)).astype(np.float64)  # many ties at every distance
    q = rng.uniform(0, 4, size=40)
    w = tie_shares(d2) / (np.sqrt(d2) + EPS)
    np.testing.assert_allclose(tie_mean(d2, q), (w * q).sum(1) / w.sum(1), rtol=1e-12)
