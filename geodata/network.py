"""The walking network: a graph of straight road segments in a metric CRS, points snapped to it,
and exact network distances from facilities (see docs/coverage.md).

Edges are the segments between consecutive road vertices. Where roads meet (docs/coverage.md,
"Junctions and grades"):

* at a shared vertex, always (OpenStreetMap ways join only at shared nodes; a tunnel entrance
  shares one with the street);
* where an end of one road lies on another road of the same grade (layer, bridge, tunnel), within
  ``END_TOLERANCE``: the other road is cut there;
* where two roads cross with no shared vertex only when both are "planar" (hand-drawn survey
  lines without topology), on the ground (neither a bridge nor a tunnel) and in the same layer.

Doors and facilities are snapped only to roads on the ground: never into a tunnel (they would
reach the street above through a wall) nor onto a bridge or viaduct (whose deck is reached only at
its ends). Every edge is two-way; of duplicate edges between the same two nodes the shortest is kept (scipy's
sparse builder would add them up); a zero-length edge keeps a tiny positive length so it does
not vanish from the sparse matrix.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix, vstack
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

NODE_PRECISION = 0.01   # metres: vertices closer than this are the same node
END_TOLERANCE = 0.05    # metres: an end this close to a road of its grade meets it
TINY = 1e-6             # metres: the length given to zero-length edges
# snapping many points (Network._nearest_many): from how many points, the spacing of the points
# sampled along the edges (metres), how many samples each point looks at, points per batch
KD_FROM, SAMPLE_STEP, SAMPLE_K, SAMPLE_CHUNK = 20_000, 10.0, 8, 100_000


@dataclass
class Network:
    xy: np.ndarray          # (nodes, 2) node coordinates, metres in the plane
    u: np.ndarray           # (edges,) start node of each edge
    v: np.ndarray           # (edges,) end node
    length: np.ndarray      # (edges,) metres on the ground
    graph: csr_matrix = field(repr=False)
    tree: shapely.STRtree = field(repr=False)     # of the edges points may snap to
    snappable: np.ndarray = field(repr=False)     # those edges' indices (on the ground)
    # ground metres per plane metre along each edge (1 / the projection's scale factor there)
    ground: np.ndarray = field(default=None, repr=False)

    @property
    def stretch(self) -> float:
        """The most plane metres per ground metre anywhere in the network: a ground distance
        d spans at most ``d * stretch`` in the plane (for straight-line searches)."""
        return float(1 / self.ground.min()) if len(self.ground) else 1.0

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    @classmethod
    def from_lines(cls, lines, node: bool = True, *, layer=None, bridge=None, tunnel=None,
                   planar=None, scale=None) -> "Network":
        """Build from LineStrings in a metric CRS, with each line's grade (``layer``: integer,
        ``bridge``, ``tunnel``: booleans; ground level by default) and whether it is ``planar``
        (crossings with other planar lines of its grade are junctions; default: ``node``).
        ``scale(xy)``: the CRS's point scale factor at plane points (``crs.point_scale``), by
        which each edge is divided to give its length on the ground (default: 1)."""
        lines = np.asarray(lines, dtype=object)
        n = len(lines)
        layer = np.zeros(n, np.int64) if layer is None else np.asarray(layer, np.int64)
        bridge = np.zeros(n, bool) if bridge is None else np.asarray(bridge, bool)
        tunnel = np.zeros(n, bool) if tunnel is None else np.asarray(tunnel, bool)
        planar = np.full(n, node, bool) if planar is None else np.asarray(planar, bool) & node
        grade = (np.unique(np.column_stack([layer, bridge, tunnel]), axis=0,
                           return_inverse=True)[1].ravel() if n else np.zeros(0, np.int64))
        off_ground = bridge | tunnel
        pieces, piece_grade, piece_off = _noded(lines, grade, off_ground, planar & ~off_ground)
        coords, part = shapely.get_coordinates(pieces, return_index=True)
        same = part[1:] == part[:-1]
        a, b, seg = coords[:-1][same], coords[1:][same], part[:-1][same]
        starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]]) if len(part) else part
        ends = (np.r_[starts, np.r_[starts[1:], len(part)] - 1] if len(part)
                else np.empty(0)).astype(np.int64)
        a, b, seg_grade, snappable = _meet_ends(
            a, b, piece_grade[seg], ~piece_off[seg], coords[ends], piece_grade[part[ends]])
        key = np.round(np.vstack([a, b]) / NODE_PRECISION).astype(np.int64)
        uniq, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        xy = uniq * NODE_PRECISION
        u, v = inverse[:len(a)], inverse[len(a):]
        ground = 1 / scale((a + b) / 2) if scale is not None else np.ones(len(a))
        length = np.maximum(np.hypot(*(b - a).T) * ground, TINY)
        # doors snap to the ground; only if no edge were on it would they have to leave it
        usable = np.flatnonzero(snappable) if snappable.any() else np.arange(len(a))
        return cls(xy=xy, u=u, v=v, length=length, graph=_graph(len(xy), u, v, length),
                   # the edges as the graph has them (ends on their nodes), so that every
                   # snap measures the same lines
                   tree=shapely.STRtree(shapely.linestrings(
                       np.stack([xy[u[usable]], xy[v[usable]]], axis=1))), snappable=usable,
                   ground=ground)

    def snap(self, points_xy: np.ndarray) -> "Snap":
        """Nearest edge of each point (on the ground), the fraction along it (from u) and
        the access walk (ground metres). Many points are snapped through a KD-tree of points
        sampled along the edges (``_nearest_many``), a few by the edges' R-tree; both exact."""
        points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        if len(points_xy) == 0:
            return Snap(np.empty(0, int), np.empty(0), np.empty(0))
        if len(points_xy) >= KD_FROM and len(self.snappable):
            local, dist = self._nearest_many(points_xy)
        else:
            local, dist = self._nearest_tree(points_xy)
        edge = self.snappable[local]
        access = dist * self.ground[edge]
        a, b = self.xy[self.u[edge]], self.xy[self.v[edge]]
        d = b - a
        denom = np.einsum("ij,ij->i", d, d)
        t = np.where(denom > 0, np.einsum("ij,ij->i", points_xy - a, d) / np.where(
            denom > 0, denom, 1), 0.0)
        return Snap(edge=edge, frac=np.clip(t, 0.0, 1.0), access=access)

    def _nearest_tree(self, points_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index among the snappable edges, plane distance) of each point's nearest edge."""
        idx, dist = self.tree.query_nearest(shapely.points(points_xy), return_distance=True,
                                            all_matches=False)
        local, out = np.empty(len(points_xy), np.int64), np.empty(len(points_xy))
        local[idx[0]], out[idx[0]] = idx[1], dist
        return local, out

    def _nearest_many(self, points_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same as ``_nearest_tree``, 2–3× faster for a million points: the KD-tree of
        points every ``SAMPLE_STEP`` along the edges gives each point its ``SAMPLE_K`` nearest
        samples; the exact distance to their edges picks the nearest of those. That is the
        nearest of all edges unless another edge comes within ``SAMPLE_STEP / 2`` of the
        K-th sample's distance (every point of an edge lies that close to one of its samples):
        those few points are asked of the R-tree instead."""
        a = self.xy[self.u[self.snappable]]
        b = self.xy[self.v[self.snappable]]
        # built for this call and dropped after it: many points are snapped once per data
        # version (the households), so the tree would only hold memory in every worker
        parts = np.maximum(np.ceil(np.hypot(*(b - a).T) / SAMPLE_STEP).astype(np.int64), 1)
        owner = np.repeat(np.arange(len(a)), parts + 1)
        first = np.repeat(np.cumsum(parts + 1) - (parts + 1), parts + 1)
        along = (np.arange(len(owner)) - first) / np.repeat(parts, parts + 1)
        kd = cKDTree(a[owner] + (b[owner] - a[owner]) * along[:, None])
        del first, along
        k = min(SAMPLE_K, kd.n)
        local, dist = np.empty(len(points_xy), np.int64), np.empty(len(points_xy))
        unsure = []
        for lo in range(0, len(points_xy), SAMPLE_CHUNK):     # bounded temporary arrays
            p = points_xy[lo:lo + SAMPLE_CHUNK]
            reach, which = kd.query(p, k=k, workers=-1)
            reach, which = reach.reshape(len(p), k), which.reshape(len(p), k)
            cand = owner[which]
            ca, d = a[cand], b[cand] - a[cand]
            dd = np.einsum("nkj,nkj->nk", d, d)
            t = np.clip(np.einsum("nkj,nkj->nk", p[:, None, :] - ca, d)
                        / np.where(dd > 0, dd, 1), 0.0, 1.0)
            gap = p[:, None, :] - (ca + d * t[..., None])
            exact = np.hypot(gap[..., 0], gap[..., 1])
            best = exact.argmin(axis=1)
            rows = np.arange(len(p))
            local[lo:lo + len(p)] = cand[rows, best]
            dist[lo:lo + len(p)] = exact[rows, best]
            if k < kd.n:
                unsure.append(lo + np.flatnonzero(reach[:, -1] <= exact[rows, best]
                                                  + SAMPLE_STEP / 2))
        unsure = np.concatenate(unsure) if unsure else np.empty(0, np.int64)
        if len(unsure):
            local[unsure], dist[unsure] = self._nearest_tree(points_xy[unsure])
        return local, dist


def _noded(lines, grade, off_ground, planar):
    """The lines, with the planar ones split where they cross another planar line of their
    grade (one noding per grade: there are a handful, not one per line); and each piece's grade
    and whether it is off the ground (bridge or tunnel)."""
    pieces, grades, off = [lines[~planar]], [grade[~planar]], [off_ground[~planar]]
    for g in np.unique(grade[planar]):
        parts = shapely.get_parts(shapely.node(shapely.multilinestrings(
            lines[planar & (grade == g)])))
        pieces.append(parts)
        grades.append(np.full(len(parts), g))
        off.append(np.zeros(len(parts), bool))
    return (np.concatenate(pieces), np.concatenate(grades).astype(np.int64),
            np.concatenate(off).astype(bool))


def _meet_ends(a, b, grade, snappable, end_xy, end_grade):
    """Segments (a → b) cut where the end of a line lies on them (within ``END_TOLERANCE``) at
    the same grade, plus a short link from each such end to its foot on the segment (so an end
    that stops a few centimetres short still meets). Returns the new segments, their grades and
    whether points may snap to them."""
    if not len(a) or not len(end_xy):
        return a, b, grade, snappable
    # most ends sit on junctions shared by several lines: ask once per point and grade
    key = np.column_stack([np.round(end_xy / NODE_PRECISION), end_grade]).astype(np.int64)
    first = np.unique(key, axis=0, return_index=True)[1]
    end_xy, end_grade = end_xy[first], end_grade[first]
    tree = shapely.STRtree(shapely.linestrings(np.stack([a, b], axis=1)))
    e, s = tree.query(shapely.points(end_xy), predicate="dwithin", distance=END_TOLERANCE)
    keep = end_grade[e] == grade[s]
    e, s = e[keep], s[keep]
    d = b[s] - a[s]
    seg_len = np.hypot(*d.T)
    along = np.clip(np.einsum("ij,ij->i", end_xy[e] - a[s], d) / np.maximum(seg_len, TINY),
                    0.0, seg_len)
    foot = a[s] + d * (along / np.maximum(seg_len, TINY))[:, None]
    # a foot within a node's width of a segment's end is that end (already a node)
    at_a, at_b = along <= NODE_PRECISION, along >= seg_len - NODE_PRECISION
    foot[at_a], foot[at_b] = a[s][at_a], b[s][at_b]
    cut = ~at_a & ~at_b
    links = np.flatnonzero(np.abs(end_xy[e] - foot).max(axis=1) >= NODE_PRECISION / 2)
    # cut each segment at its feet, in order along it
    cs, calong, cxy = s[cut], along[cut], foot[cut]
    order = np.lexsort((calong, cs))
    cs, cxy = cs[order], cxy[order]
    first, last = np.ones(len(cs), bool), np.ones(len(cs), bool)
    first[1:] = last[:-1] = cs[1:] != cs[:-1]
    prev = np.where(first[:, None], a[cs], np.roll(cxy, 1, axis=0))
    whole = np.ones(len(a), bool)
    whole[cs] = False
    new_a = np.concatenate([a[whole], prev, cxy[last], end_xy[e[links]]])
    new_b = np.concatenate([b[whole], cxy, b[cs[last]], foot[links]])
    new_grade = np.concatenate([grade[whole], grade[cs], grade[cs[last]], grade[s[links]]])
    new_snap = np.concatenate([snappable[whole], snappable[cs], snappable[cs[last]],
                               np.zeros(len(links), bool)])
    return new_a, new_b, new_grade, new_snap


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
