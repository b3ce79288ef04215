"""The walking network: a graph of straight road segments in a metric CRS, points snapped to it,
and exact network distances from facilities (see docs/coverage.md).

Edges are the segments between consecutive road vertices, after noding (crossing roads meet).
Every edge is two-way; of duplicate edges between the same two nodes the shortest is kept (scipy's
sparse builder would add them up); a zero-length edge keeps a tiny positive length so it does
not vanish from the sparse matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix, vstack
from scipy.sparse.csgraph import dijkstra

NODE_PRECISION = 0.01   # metres: vertices closer than this are the same node
TINY = 1e-6             # metres: the length given to zero-length edges


@dataclass
class Network:
    xy: np.ndarray          # (nodes, 2) node coordinates, metres
    u: np.ndarray           # (edges,) start node of each edge
    v: np.ndarray           # (edges,) end node
    length: np.ndarray      # (edges,) metres
    graph: csr_matrix = field(repr=False)
    tree: shapely.STRtree = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    @classmethod
    def from_lines(cls, lines, node: bool = True) -> "Network":
        """Build from LineStrings in a metric CRS. ``node`` splits lines where they cross."""
        lines = np.asarray(lines, dtype=object)
        if node and len(lines):
            pieces = shapely.get_parts(shapely.node(shapely.multilinestrings(lines)))
        else:
            pieces = lines
        coords, part = shapely.get_coordinates(pieces, return_index=True)
        same = part[1:] == part[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        key = np.round(np.vstack([a, b]) / NODE_PRECISION).astype(np.int64)
        uniq, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        xy = uniq * NODE_PRECISION
        u, v = inverse[:len(a)], inverse[len(a):]
        length = np.maximum(np.hypot(*(b - a).T), TINY)
        return cls(xy=xy, u=u, v=v, length=length, graph=_graph(len(xy), u, v, length),
                   tree=shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1))))

    def snap(self, points_xy: np.ndarray) -> "Snap":
        """Nearest edge of each point, the fraction along it (from u) and the access walk."""
        pts = shapely.points(points_xy)
        if len(pts) == 0:
            return Snap(np.empty(0, int), np.empty(0), np.empty(0))
        idx, dist = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
        edge = np.empty(len(pts), dtype=np.int64)
        access = np.empty(len(pts))
        edge[idx[0]] = idx[1]
        access[idx[0]] = dist
        a, b = self.xy[self.u[edge]], self.xy[self.v[edge]]
        d = b - a
        denom = np.einsum("ij,ij->i", d, d)
        t = np.where(denom > 0, np.einsum("ij,ij->i", points_xy - a, d) / np.where(
            denom > 0, denom, 1), 0.0)
        return Snap(edge=edge, frac=np.clip(t, 0.0, 1.0), access=access)


@dataclass
class Snap:
    edge: np.ndarray    # edge index
    frac: np.ndarray    # 0 at u, 1 at v
    access: np.ndarray  # metres from the point to its snapped position


def _graph(n: int, u, v, length) -> csr_matrix:
    """Symmetric sparse graph keeping the shortest of duplicate edges; no self-loops."""
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    keep = lo != hi
    lo, hi, w = lo[keep], hi[keep], length[keep]
    order = np.lexsort((w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.ones(len(lo), bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, w = lo[first], hi[first], w[first]
    rows, cols = np.concatenate([lo, hi]), np.concatenate([hi, lo])
    return coo_matrix((np.concatenate([w, w]), (rows, cols)), shape=(n, n)).tocsr()


@dataclass
class Reach:
    """Network distance from the nearest source to every node, and which source it is."""
    dist: np.ndarray     # (nodes,) metres, inf beyond the limit
    source: np.ndarray   # (nodes,) index into the sources, -1 where unreached


def with_sources(net: Network, sources: Snap) -> csr_matrix:
    """The graph plus one virtual node per source (numbered after the real nodes), joined to
    both ends of the source's edge at its access walk plus the part of the edge to that end."""
    n, m = net.n_nodes, len(sources.edge)
    length = net.length[sources.edge]
    virtual = np.arange(n, n + m)
    rows = np.concatenate([virtual, virtual])
    cols = np.concatenate([net.u[sources.edge], net.v[sources.edge]])
    w = np.maximum(np.concatenate([sources.access + sources.frac * length,
                                   sources.access + (1 - sources.frac) * length]), TINY)
    # the base graph has no duplicate edges; only a source on a zero-length edge joins the
    # same node twice: keep the shorter, never the sum. The virtual rows go below the real
    # ones, so the graph is the base's arrays widened plus a small block (no re-sorting)
    extra = _min_duplicates(rows - n, cols, w, (m, n + m))
    base = net.graph
    widened = csr_matrix((base.data, base.indices, base.indptr), shape=(n, n + m))
    return vstack([widened, extra], format="csr")


def reach(net: Network, sources: Snap, limit: float,
          graph: csr_matrix | None = None) -> Reach:
    """One bounded multi-source Dijkstra from all sources at once (``graph``: the result of
    ``with_sources`` for these sources, when the caller keeps it)."""
    n, m = net.n_nodes, len(sources.edge)
    if m == 0:
        return Reach(np.full(n, np.inf), np.full(n, -1))
    if graph is None:
        graph = with_sources(net, sources)
    dist, _, src = dijkstra(graph, directed=True, indices=np.arange(n, n + m), min_only=True,
                            limit=limit, return_predecessors=True)
    src = np.where(np.isfinite(dist), src - n, -1)
    return Reach(dist=dist[:n], source=src[:n])


def _min_duplicates(rows, cols, data, shape) -> csr_matrix:
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return coo_matrix((data[first], (rows[first], cols[first])), shape=shape).tocsr()


@dataclass
class Prepared:
    """What ``distances`` needs about a set of points and sources that does not depend on the
    run: each point's edge ends and the walk to them, and the point–source pairs that share an
    edge with their distance along it (sorted longest first)."""
    u: np.ndarray
    v: np.ndarray
    to_u: np.ndarray
    to_v: np.ndarray
    access: np.ndarray
    pair_point: np.ndarray
    pair_source: np.ndarray
    pair_along: np.ndarray


def prepare(net: Network, points: Snap, sources: Snap) -> Prepared:
    length = net.length[points.edge]
    pp = ps = np.empty(0, np.int64)
    along = np.empty(0)
    if len(sources.edge) and len(points.edge):
        order = np.argsort(sources.edge, kind="stable")
        s_edge = sources.edge[order]
        with_source = np.zeros(len(net.length), bool)
        with_source[sources.edge] = True
        near = np.flatnonzero(with_source[points.edge])   # points on an edge with a source
        lo = np.searchsorted(s_edge, points.edge[near], side="left")
        counts = np.searchsorted(s_edge, points.edge[near], side="right") - lo
        pp = np.repeat(near, counts)
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        ps = order[np.repeat(lo, counts) + within]
        along = (points.access[pp] + sources.access[ps]
                 + np.abs(points.frac[pp] - sources.frac[ps]) * length[pp])
        seq = np.argsort(-along, kind="stable")
        pp, ps, along = pp[seq], ps[seq], along[seq]
    return Prepared(u=net.u[points.edge], v=net.v[points.edge], to_u=points.frac * length,
                    to_v=(1 - points.frac) * length, access=points.access, pair_point=pp,
                    pair_source=ps, pair_along=along)


def distances(prep: Prepared, r: Reach, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Each point's network distance to the nearest source (access walks included) and that
    source's index (-1 if none within ``limit``)."""
    via_u = r.dist[prep.u] + prep.to_u
    via_v = r.dist[prep.v] + prep.to_v
    first = via_u <= via_v
    dist = np.where(first, via_u, via_v) + prep.access
    src = np.where(first, r.source[prep.u], r.source[prep.v])
    if len(prep.pair_point):
        # a source on the same edge reaches the point along it, without passing a node;
        # longest first, so that with several sources on one edge the nearest is written last
        better = prep.pair_along < dist[prep.pair_point]
        dist[prep.pair_point[better]] = prep.pair_along[better]
        src[prep.pair_point[better]] = prep.pair_source[better]
    beyond = ~(dist <= limit)
    dist[beyond] = np.inf
    src[beyond] = -1
    return dist, src


def point_distances(net: Network, points: Snap, r: Reach, sources: Snap,
                    limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """``distances`` for a one-off set of points and sources."""
    return distances(prepare(net, points, sources), r, limit)
