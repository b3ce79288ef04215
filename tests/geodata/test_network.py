"""The coverage engine on tiny networks whose answers can be worked out by hand."""
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from geodata.network import Network, point_distances, reach


def run(lines, facilities, households, limit=10_000.0):
    net = Network.from_lines([LineString(c) for c in lines])
    fs = net.snap(np.array(facilities, float))
    hs = net.snap(np.array(households, float))
    dist, src = point_distances(net, hs, reach(net, fs, limit), fs, limit)
    return net, dist, src


def test_household_in_the_middle_of_an_edge():
    # facility at the west end of a 100 m street; a door 10 m north of its 60 m mark
    _, dist, src = run([[(0, 0), (100, 0)]], [(0, 0)], [(60, 10)])
    assert dist[0] == pytest.approx(10 + 60) and src[0] == 0


def test_facility_and_household_on_the_same_edge():
    # both on the middle of a 1 km street between two far junctions: the walk stays on the edge
    _, dist, _ = run([[(0, 0), (1000, 0)]], [(400, -5)], [(700, 20)])
    assert dist[0] == pytest.approx(5 + 300 + 20)


def test_fractions_zero_and_one():
    lines = [[(0, 0), (100, 0)], [(100, 0), (200, 0)]]
    _, dist, _ = run(lines, [(100, 0)], [(0, 0), (200, 0), (100, 0)])
    assert dist == pytest.approx([100, 100, 0])


def test_parallel_edges_keep_the_shorter():
    # two ways between (0,0) and (100,0): straight (100 m) and a detour (~141 m + 30 m)
    lines = [[(0, 0), (100, 0)], [(0, 0), (50, 50), (100, 0)], [(100, 0), (100, 30)]]
    net, dist, _ = run(lines, [(0, 0)], [(100, 30)])
    assert dist[0] == pytest.approx(130)
    # and a duplicate of the same segment is not added up
    net2, dist2, _ = run([[(0, 0), (100, 0)], [(0, 0), (100, 0)], [(100, 0), (100, 30)]],
                         [(0, 0)], [(100, 30)])
    assert dist2[0] == pytest.approx(130)


def test_zero_length_edge_is_kept():
    lines = [[(0, 0), (50, 0)], [(50, 0), (50, 0)], [(50, 0), (100, 0)]]
    net, dist, _ = run(lines, [(0, 0)], [(100, 0)])
    assert dist[0] == pytest.approx(100)
    assert (net.length > 0).all()


def test_disconnected_island_is_unreached():
    lines = [[(0, 0), (100, 0)], [(500, 0), (600, 0)]]
    _, dist, src = run(lines, [(0, 0)], [(50, 5), (550, 5)])
    assert dist[0] == pytest.approx(55)
    assert np.isinf(dist[1]) and src[1] == -1


def test_crossing_roads_are_joined_where_they_cross():
    lines = [[(0, 50), (100, 50)], [(50, 0), (50, 100)]]
    _, dist, _ = run(lines, [(0, 50)], [(50, 100)])
    assert dist[0] == pytest.approx(50 + 50)


def test_limit_and_household_exactly_at_the_budget():
    lines = [[(0, 0), (300, 0)], [(300, 0), (600, 0)]]
    _, dist, src = run(lines, [(0, 0)], [(300, 0), (300.5, 0), (600, 0)], limit=300)
    assert dist[0] == 300 and src[0] == 0          # exactly at the budget: covered
    assert np.isinf(dist[1]) and np.isinf(dist[2])


def test_nearest_of_several_facilities_wins():
    lines = [[(0, 0), (1000, 0)]]
    _, dist, src = run(lines, [(0, 0), (1000, 0), (450, 0)], [(100, 0), (900, 0), (460, 0)])
    assert list(src) == [0, 1, 2]
    assert dist == pytest.approx([100, 100, 10])


def test_long_street_counts_its_middle_correctly():
    # the reachable-node trap: both ends of a 1 km street are within 600 m of a facility,
    # its middle is not
    lines = [[(0, 0), (0, 500)], [(0, 500), (1000, 500)], [(0, 0), (1000, 0)],
             [(1000, 0), (1000, 500)]]
    _, dist, _ = run(lines, [(500, -1)], [(500, 505)], limit=2000)
    assert dist[0] == pytest.approx(1 + 500 + 500 + 500 + 5)


def test_many_points_snap_exactly_as_one_by_one(monkeypatch):
    """The KD-tree path for many points (samples along the edges) finds each point's nearest
    edge exactly: the same distance as a brute-force search over every edge, for points on,
    near, between and far from irregular roads (long and very short edges, a bridge that doors
    may not snap to)."""
    from geodata import network as nw
    rng = np.random.default_rng(7)
    starts = rng.uniform(0, 2000, (400, 2))
    ends = starts + rng.normal(0, 1, (400, 2)) * rng.choice([0.5, 30, 400], (400, 1))
    lines = [LineString([tuple(s), tuple(e)]) for s, e in zip(starts, ends)]
    bridge = np.zeros(len(lines), bool)
    bridge[:40] = True
    net = Network.from_lines(lines, bridge=bridge, node=False)
    points = np.vstack([rng.uniform(-500, 2500, (nw.KD_FROM, 2)),      # many, some far away
                        ends[:50], (starts[50:90] + ends[50:90]) / 2])  # on the roads
    asked = []                                # points the KD path leaves to the R-tree
    by_tree = Network._nearest_tree
    monkeypatch.setattr(Network, "_nearest_tree",
                        lambda self, p: asked.append(len(p)) or by_tree(self, p))
    many = net.snap(points)
    assert 0 < sum(asked) < len(points) / 4   # both ways are taken, mostly the KD-tree's
    a, b = net.xy[net.u[net.snappable]], net.xy[net.v[net.snappable]]
    brute = shapely.distance(shapely.points(points)[:, None],
                             shapely.linestrings(np.stack([a, b], axis=1))[None, :])
    assert np.allclose(many.access, brute.min(axis=1), rtol=0, atol=1e-9)
    assert not np.isin(many.edge, np.flatnonzero(~np.isin(np.arange(len(net.u)),
                                                          net.snappable))).any()
    few = net.snap(points[:100])                        # the R-tree path: the same answer
    assert np.allclose(few.access, many.access[:100], rtol=0, atol=1e-9)
