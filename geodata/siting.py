"""Siting new facilities: candidate points along the roads, their catchments, and the k sites
that cover the most households a budget leaves uncovered (maximal covering location problem).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.signal import fftconvolve
from scipy.sparse import csr_matrix, hstack, identity
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from .coverage import ACCESS_CAP_M, Budgets, CoverageData, Result, cached_distances
from .workflow import InvalidInput


def candidate_sites(data: CoverageData, base: Result, budget: float, spacing: float = 50.0,
                    max_candidates: int = 2000) -> np.ndarray:
    """Points every ``spacing`` metres along the roads that have households the budget leaves
    uncovered within the budget in a straight line; the ``max_candidates`` with most of them."""
    net = data.net
    steps = np.maximum(np.ceil(net.length / spacing).astype(int), 1)
    edge = np.repeat(np.arange(len(net.length)), steps)
    k = np.arange(steps.sum()) - np.repeat(np.cumsum(steps) - steps, steps)
    t = (k + 0.5) / np.repeat(steps, steps)
    a, b = net.xy[net.u[edge]], net.xy[net.v[edge]]
    pts = a + (b - a) * t[:, None]
    uncovered = ~(base.distance <= budget) & ~base.off_network
    if not uncovered.any():
        return np.empty((0, 2))
    left = data.households.xy[uncovered]
    near = cKDTree(left).query(pts, distance_upper_bound=budget * net.stretch)[0]
    pts = pts[np.isfinite(near)]
    if len(pts) > max_candidates:
        reach_ = _households_around(left, pts, budget, spacing)
        pts = pts[np.sort(np.argsort(-reach_, kind="stable")[:max_candidates])]
    return pts


def _households_around(households: np.ndarray, pts: np.ndarray, radius: float,
                       cell: float) -> np.ndarray:
    """About how many ``households`` lie within ``radius`` of each point: households counted
    per cell, the counts convolved with a disc (FFT), read at each point's cell. Exact but
    for the households within half a cell of the circle; counting every disc one by one took
    seconds at a million households."""
    lo = np.minimum(households.min(axis=0), pts.min(axis=0)) - radius
    shape = np.ceil((np.maximum(households.max(axis=0), pts.max(axis=0)) + radius - lo)
                    / cell).astype(int) + 1
    counts = np.zeros(shape)
    np.add.at(counts, tuple(((households - lo) // cell).astype(int).T), 1)
    r = int(np.ceil(radius / cell))
    i, j = np.mgrid[-r:r + 1, -r:r + 1]
    disc = ((i * cell) ** 2 + (j * cell) ** 2 <= radius ** 2).astype(float)
    around = fftconvolve(counts, disc, mode="same")
    at = ((pts - lo) // cell).astype(int)
    return np.rint(around[at[:, 0], at[:, 1]])


def catchments(data: CoverageData, sites_xy: np.ndarray, budget: float,
               cap: float = ACCESS_CAP_M, chunk: int = 64) -> csr_matrix:
    """Sparse (sites × households) matrix: 1 where the site would cover the household.

    Only household–site pairs within the budget in a straight line can qualify (searched in
    the plane within the budget times the projection's largest stretch), so only those
    are evaluated; sites are processed in chunks to bound memory. Each chunk's Dijkstra runs
    on the part of the network within the budget in a straight line of its sites' edge ends:
    every node of a path no longer than the budget lies there, so the answer is exact, and
    the work (and the distance matrix) is local instead of city-wide."""
    net, hsnap = data.net, data.household_snap
    reach = budget * net.stretch    # the budget on the ground, as far as it spans in the plane
    tree = cKDTree(data.households.xy)
    node_tree = cKDTree(net.xy)
    hl = net.length[hsnap.edge]
    rows, cols = [], []
    for start in range(0, len(sites_xy), chunk):
        part = sites_xy[start:start + chunk]
        snap = net.snap(part)
        ends = np.concatenate([net.u[snap.edge], net.v[snap.edge]])
        uniq, inv = np.unique(ends, return_inverse=True)
        local = np.unique(np.concatenate(
            [np.asarray(n, dtype=np.int64) for n in node_tree.query_ball_point(
                net.xy[uniq], reach)]))
        d_local = dijkstra(net.graph[local][:, local], directed=False,
                           indices=np.searchsorted(local, uniq), limit=budget)
        # distances by local node; the extra last column (inf) stands for every other node
        d = np.hstack([d_local, np.full((len(uniq), 1), np.inf)])
        pos = np.full(net.n_nodes, len(local))
        pos[local] = np.arange(len(local))
        length = net.length[snap.edge]
        du = d[inv[:len(part)]] + (snap.access + snap.frac * length)[:, None]
        dv = d[inv[len(part):]] + (snap.access + (1 - snap.frac) * length)[:, None]
        node = np.minimum(du, dv)                                   # (sites, nodes)
        near = tree.query_ball_point(part, reach)
        s_idx = np.repeat(np.arange(len(part)), [len(n) for n in near])
        h_idx = np.concatenate([np.asarray(n, dtype=np.int64) for n in near]) if len(near) \
            else np.empty(0, np.int64)
        he = hsnap.edge[h_idx]
        via = np.minimum(node[s_idx, pos[net.u[he]]] + hsnap.frac[h_idx] * hl[h_idx],
                         node[s_idx, pos[net.v[he]]] + (1 - hsnap.frac[h_idx]) * hl[h_idx])
        via = via + hsnap.access[h_idx]
        same = snap.edge[s_idx] == he
        along = (snap.access[s_idx] + hsnap.access[h_idx]
                 + np.abs(snap.frac[s_idx] - hsnap.frac[h_idx]) * hl[h_idx])
        via = np.where(same, np.minimum(via, along), via)
        ok = (via <= budget) & (hsnap.access[h_idx] <= cap)
        rows.append(s_idx[ok] + start)
        cols.append(h_idx[ok])
    rows = np.concatenate(rows) if rows else np.empty(0, int)
    cols = np.concatenate(cols) if cols else np.empty(0, int)
    return csr_matrix((np.ones(len(rows)), (rows, cols)),
                      shape=(len(sites_xy), len(hsnap.edge)))


def siting(data: CoverageData, kinds, budget: float, k: int, *, method: str = "greedy",
           sites_xy: np.ndarray | None = None, cap: float = ACCESS_CAP_M,
           max_candidates: int = 2000, areas: list[str] | None = None) -> dict:
    """The k sites that cover the most households the budget leaves uncovered (in ``areas``,
    the reader's; None: all): greedy (within 1 − 1/e of the best) or exact maximal covering
    (HiGHS through scipy's ``milp``)."""
    budgets = Budgets.from_metres([budget])
    base = cached_distances(data, kinds, budgets, cap)
    if sites_xy is None:
        sites_xy = candidate_sites(data, base, budget, max_candidates=max_candidates)
    uncovered = ~(base.distance <= budget) & ~base.off_network
    if areas is not None:
        uncovered &= np.isin(data.grid_index, data.grid_positions(areas))
    cover = catchments(data, sites_xy, budget, cap)[:, uncovered].tocsc().tocsr()
    cover.data[:] = 1
    if method == "exact":
        chosen = _exact(cover, k)
    elif method == "greedy":
        chosen = _greedy(cover, k)
    else:
        raise InvalidInput("method must be greedy or exact")
    picks, seen = [], np.zeros(cover.shape[1], bool)
    for j in chosen:
        hit = np.zeros(cover.shape[1], bool)
        hit[cover[j].indices] = True
        picks.append({"xy": sites_xy[j].tolist(), "gain": int((hit & ~seen).sum())})
        seen |= hit
    return {"budget_m": budget, "method": method, "candidates": int(len(sites_xy)),
            "uncovered_before": int(uncovered.sum()), "covered_by_sites": int(seen.sum()),
            "sites": picks}


def _greedy(cover: csr_matrix, k: int) -> list[int]:
    chosen, covered = [], np.zeros(cover.shape[1], bool)
    for _ in range(min(k, cover.shape[0])):
        gains = cover @ (~covered).astype(float)
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        chosen.append(j)
        covered[cover[j].indices] = True
    return chosen


def _exact(cover: csr_matrix, k: int) -> list[int]:
    """max Σ y_i  s.t.  y_i ≤ Σ_j a_ij x_j,  Σ x_j ≤ k,  x, y binary."""
    n_sites, n_hh = cover.shape
    useful = np.flatnonzero(np.asarray(cover.sum(axis=0)).ravel() > 0)
    a = cover[:, useful].T.tocsr()                      # (households, sites)
    m = len(useful)
    c = np.concatenate([np.zeros(n_sites), -np.ones(m)])
    link = hstack([-a, identity(m, format="csr")]).tocsr()
    budget_row = csr_matrix(np.concatenate([np.ones(n_sites), np.zeros(m)]))
    constraints = [LinearConstraint(link, -np.inf, 0), LinearConstraint(budget_row, 0, k)]
    res = milp(c, constraints=constraints, integrality=np.ones(n_sites + m),
               bounds=Bounds(0, 1))
    if res.x is None:
        raise InvalidInput("the exact solver found no solution; try method=greedy")
    chosen = np.flatnonzero(res.x[:n_sites] > 0.5)
    # listed by marginal gain, like the greedy picks
    return [int(chosen[i]) for i in _greedy(cover[chosen], len(chosen))]
