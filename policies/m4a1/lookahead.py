"""The exact k-NN behind LCIO's look-ahead, fast enough for a sub-millisecond decision.

A look-ahead from a window needs the k-NN quality of 324 next-turn queries (n first actions ×
k next tasks × n next actions). Each query is [head, tail]: the head (the window's newest 4
turns, 20 numbers) is the same for all of them and the tail (next per-turn state, next action
code: 9 numbers) is one of 324 fixed rows. All features are small integers, so the squared
distance head part + tail part is an exact integer: the tail part is precomputed per logged
point, and a point whose head distance alone exceeds the 5th smallest (head + largest tail)
distance can never be a neighbour. What is left is computed in integers, point-major (the
candidate points' rows are contiguous), and ranked exactly as `simulator.tie_mean` ranks them:
the result is bit-for-bit the quality model's own prediction for each query
(`tests/test_m4a1_lookahead.py`).
"""

from __future__ import annotations

import numpy as np

from policies.m4a1.simulator import EPS, K_NEIGHBOURS, QualityModel, tie_mean

_MAX_D2 = 2 ** 14  # integer squared distances stay below this (int16 tails, sqrt table size)


class LookaheadKNN:
    """k-NN quality of every next-turn query from one head, for a fixed quality model."""

    def __init__(self, quality: QualityModel, next_state: np.ndarray):
        """`next_state[a, k]`: the per-turn state after first action a when the next task is k."""
        self.model = quality
        n, k, sd = next_state.shape
        self.shape = (n, k, n)
        tails = np.concatenate([np.repeat(next_state.reshape(n * k, sd), n, 0),
                                np.tile(quality._codes, (n * k, 1))], 1)  # (n*k*n, 9)
        pts = quality.points
        n_head = pts.shape[1] - tails.shape[1]
        self.tails = tails
        self._head_pts = pts[:, :n_head].astype(np.float64)
        tail_d2 = ((tails[:, None, :] - pts[None, :, n_head:]) ** 2).sum(2)  # (n*k*n, N)
        self._tail_d2 = tail_d2
        self._tail_d2_max = tail_d2.max(0)  # (N,): bounds which points can be neighbours
        self._idx_scale = float(2 ** max(int(len(pts) - 1).bit_length(), 1))
        span = float(np.abs(pts).max()) if len(pts) else 0.0
        self.exact = bool(np.all(pts == np.round(pts)) and span < 2 ** 4 and len(pts) < 2 ** 30
                          and float(tail_d2.max(initial=0)) + n_head * (2 * span) ** 2 < _MAX_D2)
        if self.exact:  # integer copies: exact, and a quarter of the memory a cold query touches
            self._head_int = self._head_pts.astype(np.int16)
            self._tail_by_point = np.ascontiguousarray(tail_d2.T).astype(np.int16)  # (N, n*k*n)
            self._tail_max_int = self._tail_d2_max.astype(np.int16)
            self._sqrt = np.sqrt(np.arange(_MAX_D2, dtype=np.float64))  # = np.sqrt of each integer

    def quality(self, head: np.ndarray) -> np.ndarray:
        """(n, k, n) quality of every next-turn query whose first 20 numbers are `head`."""
        if not self.exact:
            return self.reference(head)
        head = np.asarray(head, dtype=np.float64)
        h = ((self._head_int - head.astype(np.int16)) ** 2).sum(1, dtype=np.int16)  # (N,)
        # every row's 5th-nearest distance is at most the 5th smallest of h + largest tail part
        bound = np.partition(h + self._tail_max_int, K_NEIGHBOURS - 1)[K_NEIGHBOURS - 1]
        cand = np.flatnonzero(h <= bound)
        d2 = (self._tail_by_point[cand] + h[cand, None]).T  # (rows, candidates), exact integers
        if self.model.ties:
            return self._tie_mean(d2, cand).reshape(self.shape)
        # (distance, index) keys: integers below 2^53, exact in float64; ranks as a stable sort
        keys = d2.astype(np.float64) * self._idx_scale + cand[None, :]
        top = np.partition(keys, K_NEIGHBOURS - 1, axis=1)[:, :K_NEIGHBOURS]
        dist2 = np.floor(top / self._idx_scale)
        idx = (top - dist2 * self._idx_scale).astype(np.intp)
        w = 1.0 / (np.sqrt(dist2) + EPS)
        return ((w * self.model.quality[idx]).sum(1) / w.sum(1)).reshape(self.shape)

    def _tie_mean(self, d2: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """`simulator.tie_mean` on integer distances, step for step (the same entries, summed in
        the same order), so the result is the same to the last bit."""
        m = len(d2)
        kth = np.partition(d2, K_NEIGHBOURS - 1, axis=1)[:, K_NEIGHBOURS - 1]
        rows, cols = np.nonzero(d2 <= kth[:, None])
        d = d2[rows, cols]
        tied = d == kth[rows]
        n_tied = np.bincount(rows, weights=tied, minlength=m)
        n_closer = np.bincount(rows, minlength=m) - n_tied
        share = np.where(tied, ((K_NEIGHBOURS - n_closer) / np.maximum(n_tied, 1))[rows], 1.0)
        w = share / (self._sqrt[d] + EPS)
        return np.bincount(rows, w * self.model.quality[cand[cols]], m) / np.bincount(rows, w, m)

    def reference(self, head: np.ndarray) -> np.ndarray:
        """The slow, obvious version of `quality` (full query rows; ties shared, or a stable
        sort without them): the definition the fast path is tested against."""
        queries = np.hstack([np.broadcast_to(np.asarray(head, np.float64), (len(self.tails), len(head))),
                             self.tails])
        out = np.empty(len(queries))
        for i, x in enumerate(queries):
            d2 = ((self.model.points - x) ** 2).sum(1)
            if self.model.ties:
                out[i] = tie_mean(d2[None, :], self.model.quality)[0]
                continue
            idx = np.argsort(d2, kind="stable")[:K_NEIGHBOURS]
            w = 1.0 / (np.sqrt(d2[idx]) + EPS)
            out[i] = (w * self.model.quality[idx]).sum() / w.sum()
        return out.reshape(self.shape)
