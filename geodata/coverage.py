"""Service-circle coverage along the roads: per household, per grid, and what a new site adds.

A household is covered by a budget when its own network distance to the nearest facility of the
chosen kinds — access walk from the door, along the streets, access walk to the facility — is
within the budget. Service-area polygons are only a picture (see ``reached_segments``).
The network and the snaps are computed once per data version (``data_versions``) and reused.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import Connection, text

from . import crs
from .layers import METRIC_SRID
from .models import FACILITY_KINDS
from .network import (Network, Prepared, Reach, Snap, distances, point_distances, prepare,
                      reach, with_sources)
from .workflow import InvalidInput

# the default zone (Dazhou's) when there are no roads to place the data by
DEFAULT_SRID = METRIC_SRID
WALK_M_PER_MIN = 60.0
ACCESS_CAP_M = 150.0
DEFAULT_MINUTES = (5, 10, 15)
SHARING_KINDS = ("shared_tool_house", "shared_book_bar")
# results kept in each process (each is ~25 bytes per household): the last few parameter sets,
# for what-if clicks and siting; what several processes share lives in PostgreSQL
# (geodata.coverage_store)
RESULTS_KEPT = 4


@dataclass(frozen=True)
class Budgets:
    metres: tuple[float, ...]
    labels: tuple[str, ...]

    @classmethod
    def from_minutes(cls, minutes, speed: float = WALK_M_PER_MIN) -> "Budgets":
        minutes = sorted({float(m) for m in minutes})
        return cls(tuple(m * speed for m in minutes), tuple(f"{m:g}min" for m in minutes))

    @classmethod
    def from_metres(cls, metres) -> "Budgets":
        metres = sorted({float(m) for m in metres})
        return cls(tuple(metres), tuple(f"{m:g}m" for m in metres))


@dataclass
class Households:
    """Numbers only (ids, positions, grid indices): at a million households the codes and
    building names would double the memory of every worker; the few shown are looked up
    (``_household_labels``)."""
    ids: np.ndarray         # households.id, in id order
    xy: np.ndarray
    grid: np.ndarray        # each household's index in CoverageData.grids


@dataclass
class Facilities:
    codes: np.ndarray
    names: np.ndarray
    kinds: np.ndarray
    xy: np.ndarray


@dataclass
class Sources:
    """The facilities of some kinds, ready for runs: what only changes with the data."""
    chosen: np.ndarray      # indices into CoverageData.facilities
    snap: Snap
    graph: csr_matrix       # the network plus one virtual node per facility
    straight: np.ndarray    # each household's straight-line distance to the nearest one
    households: Prepared    # the households' side of the distance formula


@dataclass
class CoverageData:
    """Everything the engine needs, in metres of the data's own zone (``srid``: see
    ``geodata.crs``); built once per data version."""
    version: tuple
    net: Network
    households: Households
    facilities: Facilities
    grids: list[tuple[str, str]]   # (code, name)
    srid: int = DEFAULT_SRID

    @property
    def to_metric(self):
        return crs.transformers(self.srid)[0]

    @property
    def to_wgs84(self):
        return crs.transformers(self.srid)[1]

    @property
    def grid_index(self) -> np.ndarray:
        """Each household's position in ``grids``."""
        return self.households.grid

    def grid_positions(self, prefixes) -> np.ndarray:
        """The positions in ``grids`` of the grids whose codes begin with one of ``prefixes``
        (grid codes, or the codes of areas that hold grids)."""
        prefixes = tuple(prefixes)
        return np.array([i for i, (code, _) in enumerate(self.grids)
                         if code.startswith(prefixes)], dtype=np.int64)

    @cached_property
    def _sources(self) -> dict:
        return {}

    def sources(self, kinds) -> Sources:
        key = tuple(sorted(kinds))
        with _lock:
            hit = self._sources.get(key)
        if hit is None:
            chosen = np.flatnonzero(np.isin(self.facilities.kinds, kinds))
            snap = Snap(*(a[chosen] for a in (self.facility_snap.edge, self.facility_snap.frac,
                                              self.facility_snap.access)))
            straight = (cKDTree(self.facilities.xy[chosen]).query(self.households.xy,
                                                                  workers=-1)[0]
                        * self.net.ground[self.household_snap.edge]     # plane → ground
                        if len(chosen) else np.full(len(self.households.xy), np.inf))
            hit = Sources(chosen, snap, with_sources(self.net, snap), straight,
                          prepare(self.net, self.household_snap, snap))
            with _lock:
                self._sources[key] = hit
        return hit

    @cached_property
    def results(self) -> dict:
        """Coverage results already computed for this data version, by their parameters."""
        return {}

    @cached_property
    def household_snap(self) -> Snap:
        return self.net.snap(self.households.xy)

    @cached_property
    def facility_snap(self) -> Snap:
        return self.net.snap(self.facilities.xy)


_cache: dict[str, CoverageData] = {}
_lock = threading.Lock()


def data_version(conn: Connection) -> tuple:
    return tuple(conn.execute(text(
        "SELECT layer, version FROM data_versions ORDER BY layer")).all())


def load(conn: Connection) -> CoverageData:
    """The coverage data for this database, from the cache while the data is unchanged."""
    key = str(conn.engine.url)
    version = data_version(conn)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached.version == version:
            return cached
    data = _read(conn, version)
    data.household_snap, data.facility_snap, data.grid_index  # noqa: B018 - compute now
    with _lock:
        _cache[key] = data
    return data


# households as one bytea of fixed-size big-endian records, which numpy reads as it is
HOUSEHOLD_ROW = np.dtype([("id", ">i4"), ("x", ">f8"), ("y", ">f8"), ("grid", ">i4")])


def _read_households(conn: Connection, srid: int) -> Households:
    """Every household in a grid: id, position in metres and grid index, packed by PostgreSQL
    into one bytea and read straight into numpy (one value on the wire, not a message per
    household: a COPY spent 2.5 s of its 2.8 s at a million households fetching rows)."""
    packed = conn.execute(text(f"""
        WITH gi AS (SELECT id, (row_number() OVER (ORDER BY code) - 1)::int AS i FROM grids)
        SELECT string_agg(int4send(h.id) || float8send(ST_X(h.p)) || float8send(ST_Y(h.p))
                          || int4send(gi.i), ''::bytea ORDER BY h.id)
        FROM (SELECT id, grid_id, ST_Transform(geom, {int(srid)}) AS p FROM households) h
        JOIN gi ON gi.id = h.grid_id""")).scalar_one()
    rows = np.frombuffer(bytes(packed or b""), HOUSEHOLD_ROW)
    return Households(ids=rows["id"].astype(np.int64),
                      xy=np.column_stack([rows["x"], rows["y"]]).astype(np.float64),
                      grid=rows["grid"].astype(np.int64))


def _household_labels(conn: Connection, ids) -> dict[int, tuple[str, str]]:
    """Code and building name of these households (a page of them), by id."""
    rows = conn.execute(text("""SELECT h.id, h.code, b.name FROM households h
                                JOIN buildings b ON b.id = h.building_id
                                WHERE h.id = ANY(:ids)"""), {"ids": [int(i) for i in ids]})
    return {r[0]: (r[1], r[2]) for r in rows}


def _xy(wkb_list) -> np.ndarray:
    return shapely.get_coordinates(shapely.from_wkb(np.array(wkb_list, dtype=object)))


def _read(conn: Connection, version: tuple) -> CoverageData:
    box = conn.execute(text("SELECT ST_XMin(e), ST_XMax(e), ST_YMin(e), ST_YMax(e) "
                            "FROM (SELECT ST_Extent(geom) AS e FROM roads) x")).one()
    if box[0] is None:
        raise InvalidInput("there are no roads yet: walks are measured along them; import "
                           "some first (geodata import-osm, or geodata import roads)", "no_roads")
    srid = crs.chosen(*box)
    roads = conn.execute(text(f"""SELECT ST_AsBinary(ST_Transform(geom, {srid})), layer, bridge,
                                        tunnel, noding = 'planar' FROM roads""")).all()
    wkb, layer, bridge, tunnel, planar = zip(*roads)       # one pass over the rows
    lines = shapely.from_wkb(np.array([bytes(w) for w in wkb], dtype=object))
    fac = conn.execute(text(f"""
        SELECT code, name, kind, ST_AsBinary(ST_Transform(geom, {srid}))
        FROM facilities ORDER BY code""")).all()
    grids = [tuple(r) for r in conn.execute(text("SELECT code, name FROM grids ORDER BY code"))]
    households = _read_households(conn, srid)
    facilities = Facilities(
        codes=np.array([r[0] for r in fac]), names=np.array([r[1] for r in fac]),
        kinds=np.array([r[2] for r in fac]), xy=_xy([bytes(r[3]) for r in fac]).reshape(-1, 2))
    net = Network.from_lines(lines, layer=np.array(layer), bridge=np.array(bridge),
                             tunnel=np.array(tunnel), planar=np.array(planar),
                             scale=partial(crs.point_scale, srid))
    return CoverageData(version=version, net=net, households=households,
                        facilities=facilities, grids=grids, srid=srid)


def check_kinds(kinds) -> tuple[str, ...]:
    kinds = tuple(dict.fromkeys(k for k in kinds if k))
    if not kinds:
        raise InvalidInput("kinds: give at least one facility kind")
    unknown = [k for k in kinds if k not in FACILITY_KINDS]
    if unknown:
        raise InvalidInput("kinds: unknown kind %(unknown)s; kinds: %(kinds)s",
                           unknown=", ".join(unknown), kinds=", ".join(FACILITY_KINDS))
    return kinds


@dataclass
class Result:
    """Per household: network distance (inf if beyond the largest budget, nan if off the
    network), covering facility index (-1 if none) and straight-line distance."""
    budgets: Budgets
    distance: np.ndarray
    facility: np.ndarray
    straight: np.ndarray
    off_network: np.ndarray


def households_distances(data: CoverageData, kinds, budgets: Budgets,
                         cap: float = ACCESS_CAP_M, extra: np.ndarray | None = None) -> Result:
    """Distances from every household to the nearest facility of ``kinds`` (plus ``extra``
    candidate points, metres, numbered after the existing facilities)."""
    src = data.sources(kinds)
    chosen, fsnap, graph, straight = src.chosen, src.snap, src.graph, src.straight
    if extra is not None and len(extra):
        esnap = data.net.snap(extra)
        fsnap = Snap(np.concatenate([fsnap.edge, esnap.edge]),
                     np.concatenate([fsnap.frac, esnap.frac]),
                     np.concatenate([fsnap.access, esnap.access]))
        chosen = np.concatenate([chosen, len(data.facilities.codes) + np.arange(len(extra))])
        graph = None
        straight = np.minimum(straight, cKDTree(extra).query(data.households.xy)[0]
                              * data.net.ground[data.household_snap.edge])
    limit = max(budgets.metres)
    r = reach(data.net, fsnap, limit, graph)
    hsnap = data.household_snap
    prep = src.households if graph is not None else prepare(data.net, hsnap, fsnap)
    dist, near = distances(prep, r, limit)
    off = hsnap.access > cap
    dist = np.where(off, np.nan, dist)
    facility = np.where(off | (near < 0), -1, chosen[np.maximum(near, 0)])
    return Result(budgets, dist, facility, straight, off)


def cached_distances(data: CoverageData, kinds, budgets: Budgets,
                     cap: float = ACCESS_CAP_M) -> Result:
    """``households_distances``, remembered for this data version (what-if clicks and siting
    reuse the current coverage instead of recomputing it)."""
    key = (tuple(sorted(kinds)), budgets, cap)
    with _lock:
        hit = data.results.get(key)
    if hit is None:
        hit = households_distances(data, kinds, budgets, cap)
        with _lock:
            if len(data.results) >= RESULTS_KEPT:
                data.results.clear()
            data.results[key] = hit
    return hit


def summarise(data: CoverageData, res: Result, areas: list[str] | None = None) -> dict:
    """Per grid and in total: covered / uncovered / off-network counts and shares, on the
    network and inside the straight-line circle; only the grids in ``areas`` (the reader's,
    ``scope.read_areas``; None: all), the total theirs."""
    shown = (np.arange(len(data.grids)) if areas is None
             else data.grid_positions(areas))
    gi = data.grid_index
    n_grids = len(data.grids)
    inside = np.isin(gi, shown)

    def count(mask):  # per grid, then the total of the shown grids in the last slot
        per = np.bincount(gi[mask], minlength=n_grids + 1)[:n_grids]
        return np.append(per, per[shown].sum())

    households = count(np.ones(len(res.distance), bool))
    off = count(res.off_network)
    table = {}
    for label, budget in zip(res.budgets.labels, res.budgets.metres):
        table[label] = (budget, count(res.distance <= budget), count(res.straight <= budget))

    def figures(i):
        out = {}
        n = int(households[i])
        for label, (budget, covered, straight) in table.items():
            c, s_ = int(covered[i]), int(straight[i])
            out[label] = {
                "budget_m": budget, "households": n, "covered": c,
                "uncovered": n - c - int(off[i]), "off_network": int(off[i]),
                "share_covered": round(c / n, 4) if n else None,
                "straight_line_covered": s_,
                "straight_line_share": round(s_ / n, 4) if n else None,
            }
        return out

    reached = res.distance[np.isfinite(res.distance) & inside]
    return {"budgets": dict(zip(res.budgets.labels, res.budgets.metres)),
            "crs": f"EPSG:{data.srid}",     # where the distances were measured
            # the nearest household along the roads, to say why a budget reaches none
            "nearest_m": round(float(reached.min()), 1) if len(reached) else None,
            "total": figures(n_grids),
            "grids": {data.grids[i][0]: {"name": data.grids[i][1], **figures(i)}
                      for i in shown}}


def whatif(data: CoverageData, kinds, budgets: Budgets, site_xy: np.ndarray,
           cap: float = ACCESS_CAP_M, base: Result | None = None,
           areas: list[str] | None = None) -> dict:
    """How many more households each budget covers, per grid, with a facility at ``site_xy``;
    only the grids in ``areas`` (None: all), the total theirs.

    One bounded Dijkstra from the site's two edge ends on top of the current distances."""
    base = base or cached_distances(data, kinds, budgets, cap)
    site = data.net.snap(np.asarray(site_xy, float).reshape(1, 2))
    limit = max(budgets.metres)
    edge = site.edge[0]
    length = data.net.length[edge]
    ends = np.array([data.net.u[edge], data.net.v[edge]])
    d_ends = dijkstra(data.net.graph, directed=False, indices=ends, limit=limit)
    offsets = site.access[0] + np.array([site.frac[0], 1 - site.frac[0]]) * length
    node_dist = np.min(d_ends + offsets[:, None], axis=0)
    r = Reach(node_dist, np.where(np.isfinite(node_dist), 0, -1))
    new, _ = point_distances(data.net, data.household_snap, r, site, limit)
    new = np.where(base.off_network, np.nan, new)
    shown = (np.arange(len(data.grids)) if areas is None else data.grid_positions(areas))
    gains = {}
    for label, budget in zip(budgets.labels, budgets.metres):
        gained = (new <= budget) & ~(base.distance <= budget)
        per = np.bincount(data.grid_index[gained], minlength=len(data.grids) + 1)
        gains[label] = {"total": int(per[shown].sum()),
                        "grids": {data.grids[i][0]: int(per[i]) for i in shown}}
    return {"site": {"snapped_to_road_m": round(float(site.access[0]), 1)}, "gains": gains}


def household_states(res: Result) -> np.ndarray:
    """Each household's state: the label of the smallest budget that covers it, 'uncovered',
    or 'off_network' (farther from every road than the access cap)."""
    state = np.full(len(res.distance), "uncovered", dtype=object)
    for label, budget in reversed(list(zip(res.budgets.labels, res.budgets.metres))):
        state[res.distance <= budget] = label
    state[res.off_network] = "off_network"
    return state


def visible(data: CoverageData, grids: tuple[str, ...] | None) -> np.ndarray:
    """Which households lie in ``grids`` (None: all): the per-household answers a viewer may
    see (``geodata.privacy.household_grids``)."""
    if grids is None:
        return np.ones(len(data.households.ids), bool)
    return np.isin(data.households.grid, data.grid_positions(grids))


def household_features(conn: Connection, data: CoverageData, res: Result,
                       grids: tuple[str, ...] | None, offset: int = 0,
                       limit: int | None = None) -> tuple[list[dict], int]:
    """GeoJSON features (WGS 84) of the households in ``grids``, a page of them (in id
    order): network distance, covering facility, state and straight-line distance; and how
    many there are in all."""
    every = np.flatnonzero(visible(data, grids))
    idx = every[offset:None if limit is None else offset + limit]
    labels = _household_labels(conn, data.households.ids[idx])
    lon, lat = data.to_wgs84.transform(data.households.xy[idx, 0], data.households.xy[idx, 1])
    state, d, f = household_states(res)[idx], res.distance[idx], res.facility[idx]
    return [{"type": "Feature",
             "geometry": {"type": "Point", "coordinates": [round(float(x), 7),
                                                           round(float(y), 7)]},
             "properties": {
                 "code": labels[int(data.households.ids[i])][0],
                 "grid": data.grids[data.households.grid[i]][0],
                 "distance_m": None if not np.isfinite(di) else round(float(di), 1),
                 "facility": None if fi < 0 else str(data.facilities.codes[fi]),
                 "state": str(st), "straight_line_m": round(float(res.straight[i]), 1)}}
            for i, x, y, st, di, fi in zip(idx, lon, lat, state, d, f)], len(every)


def uncovered_by_grid(conn: Connection, data: CoverageData, res: Result,
                      grids: tuple[str, ...] | None, only: list[str] | None = None,
                      limit: int = 50) -> dict[str, dict]:
    """Per grid in ``grids`` (None: all) and ``only`` (a page of grids), the households no
    budget covers (on the network): how many, and the first ``limit`` of them with code and
    building, what a grid worker needs to find the door."""
    largest = res.budgets.metres[-1]
    missing = ~(res.distance <= largest) & ~res.off_network & visible(data, grids)
    out, first = {}, {}
    for i, (code, _) in enumerate(data.grids):   # a page of grids: one vectorised mask each
        if ((grids is not None and not code.startswith(tuple(grids)))
                or (only is not None and code not in only)):
            continue
        idx = np.flatnonzero(missing & (data.grid_index == i))
        out[code], first[code] = len(idx), data.households.ids[idx[:limit]]
    labels = _household_labels(conn, np.concatenate([np.zeros(0, np.int64), *first.values()]))
    return {code: {"count": n, "rows": sorted(
                ({"code": labels[int(h)][0], "building": labels[int(h)][1]}
                 for h in first[code]), key=lambda r: r["code"])}
            for code, n in out.items()}


def reached_segments(data: CoverageData, kinds, budget: float) -> np.ndarray:
    """The reached parts of the streets within ``budget`` (partly reached edges included),
    as an (n, 2, 2) array of segment ends in metres: the indicative picture of a service area
    (``shapely.linestrings`` makes them lines)."""
    src = data.sources(kinds)
    fsnap, net = src.snap, data.net
    r = reach(net, fsnap, budget, src.graph)
    du, dv = r.dist[net.u], r.dist[net.v]
    from_u = np.clip((budget - du) / net.length, 0, 1)      # share reached from u's side
    from_v = np.clip((budget - dv) / net.length, 0, 1)
    a, b = net.xy[net.u], net.xy[net.v]
    whole = from_u + from_v >= 1
    segs = [np.stack([a[whole], b[whole]], axis=1)]
    part_u = ~whole & (from_u > 0)
    segs.append(np.stack([a[part_u], a[part_u] + (b - a)[part_u] * from_u[part_u, None]],
                         axis=1))
    part_v = ~whole & (from_v > 0)
    segs.append(np.stack([b[part_v], b[part_v] - (b - a)[part_v] * from_v[part_v, None]],
                         axis=1))
    # the edges that hold a facility are reached from the facility itself
    e = fsnap.edge
    if len(e):
        room = np.maximum(budget - fsnap.access, 0)
        lo = np.clip(fsnap.frac - room / net.length[e], 0, 1)
        hi = np.clip(fsnap.frac + room / net.length[e], 0, 1)
        segs.append(np.stack([a[e] + (b - a)[e] * lo[:, None],
                              a[e] + (b - a)[e] * hi[:, None]], axis=1))
    return np.concatenate(segs)
