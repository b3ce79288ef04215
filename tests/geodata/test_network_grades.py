"""Junctions and grades, on small networks worked out by hand (docs/coverage.md, "Junctions and
grades"): roads meet at shared vertices, at an end lying on a road of the same grade, and — only
for planar survey lines on the ground in one layer — where they cross; doors never snap to
tunnels or onto bridges. Each case also shows the answer that noding every crossing gave, so that it can fail."""
import numpy as np
import pytest
from shapely.geometry import LineString

from geodata.network import Network, point_distances, reach

STREET = {}
TUNNEL = {"tunnel": True, "layer": -1}
BRIDGE = {"bridge": True, "layer": 1}


def run(roads, facilities, households, *, planar=True):
    """``roads``: (coordinates, grade) pairs, grade a dict of layer/bridge/tunnel/planar."""
    lines = [LineString(c) for c, _ in roads]
    grades = [g for _, g in roads]
    net = Network.from_lines(
        lines, layer=[g.get("layer", 0) for g in grades],
        bridge=[g.get("bridge", False) for g in grades],
        tunnel=[g.get("tunnel", False) for g in grades],
        planar=[g.get("planar", planar) for g in grades])
    return _distances(net, facilities, households)


def every_crossing_noded(roads, facilities, households):
    """What the engine did before grades: all lines noded where they cross, tunnels included."""
    return _distances(Network.from_lines([LineString(c) for c, _ in roads]), facilities,
                      households)


def _distances(net, facilities, households):
    fs = net.snap(np.array(facilities, float))
    hs = net.snap(np.array(households, float))
    return point_distances(net, hs, reach(net, fs, 1e5), fs, 1e5)[0]


def test_a_street_over_a_tunnel_is_no_junction():
    # street A runs east from the facility; the tunnel passes under its 100 m mark and comes up
    # at street B; the door is on B. Only the crossing could join A to B.
    roads = [([(0, 0), (200, 0)], STREET), ([(100, -100), (100, 100)], TUNNEL),
             ([(100, 100), (300, 100)], STREET)]
    assert np.isinf(run(roads, [(0, 0)], [(300, 105)])[0])
    assert every_crossing_noded(roads, [(0, 0)], [(300, 105)])[0] == pytest.approx(405)


def test_a_bridge_over_a_street_is_no_junction():
    roads = [([(0, 0), (200, 0)], STREET), ([(100, -100), (100, 100)], BRIDGE),
             ([(100, 100), (300, 100)], STREET)]
    assert np.isinf(run(roads, [(0, 0)], [(300, 105)])[0])
    assert every_crossing_noded(roads, [(0, 0)], [(300, 105)])[0] == pytest.approx(405)


def test_a_tunnel_entrance_that_shares_a_vertex_joins():
    # street A has a vertex at (100, 0) where the tunnel starts; the tunnel comes up at street C
    roads = [([(0, 0), (100, 0), (200, 0)], STREET), ([(100, 0), (100, -200)], TUNNEL),
             ([(100, -200), (300, -200)], STREET)]
    d = run(roads, [(0, 0)], [(300, -195), (103, -150)])
    assert d[0] == pytest.approx(100 + 200 + 200 + 5)
    # a door 3 m from the tunnel, 50 m from street C: it walks to C, not into the tunnel wall
    assert d[1] == pytest.approx(50 + 3 + 200 + 100)


def test_two_tunnels_crossing_do_not_meet():
    roads = [([(-50, 0), (0, 0)], STREET), ([(0, 0), (200, 0)], TUNNEL),
             ([(100, -100), (100, 100)], TUNNEL), ([(100, 100), (150, 100)], STREET)]
    assert np.isinf(run(roads, [(-50, 0)], [(150, 103)])[0])
    assert every_crossing_noded(roads, [(-50, 0)], [(150, 103)])[0] == pytest.approx(303)


@pytest.mark.parametrize("planar", [True, False])
def test_an_end_on_a_way_mid_segment_joins_at_the_same_grade(planar):
    # B ends on A's 100 m mark, where A has no vertex (the cut is made there)
    roads = [([(0, 0), (200, 0)], STREET), ([(100, 0), (100, 100)], STREET)]
    assert run(roads, [(0, 0)], [(105, 100)], planar=planar)[0] == pytest.approx(205)
    # an end that stops 3 cm short still meets (a 3 cm link)
    short = [([(0, 0), (200, 0)], STREET), ([(100, 0.03), (100, 100)], STREET)]
    assert run(short, [(0, 0)], [(105, 100)], planar=planar)[0] == pytest.approx(205, abs=1e-6)
    # but not an end lying on a way at another grade
    over = [([(0, 0), (200, 0)], STREET), ([(100, 0), (100, 100)], BRIDGE),
            ([(100, 100), (300, 100)], STREET)]
    assert np.isinf(run(over, [(0, 0)], [(300, 105)], planar=planar)[0])


def test_crossings_are_junctions_only_between_planar_lines_of_one_layer():
    cross = [([(0, 0), (200, 0)], STREET), ([(100, -100), (100, 100)], STREET),
             ([(100, 100), (300, 100)], STREET)]
    assert run(cross, [(0, 0)], [(300, 105)])[0] == pytest.approx(405)    # survey lines
    assert np.isinf(run(cross, [(0, 0)], [(300, 105)], planar=False)[0])  # OSM ways
    one_osm = [cross[0], ([(100, -100), (100, 100)], {"planar": False}), cross[2]]
    assert np.isinf(run(one_osm, [(0, 0)], [(300, 105)])[0])
    upper = [cross[0], ([(100, -100), (100, 100)], {"layer": 1}), cross[2]]
    assert np.isinf(run(upper, [(0, 0)], [(300, 105)])[0])


@pytest.mark.parametrize("grade", [TUNNEL, BRIDGE])
def test_doors_never_snap_into_a_tunnel_or_onto_a_bridge(grade):
    # a street, then 200 m of tunnel (or viaduct) straight on: a door 2 m beside its middle
    # walks to the street's end, not through the wall (or up the pillar)
    roads = [([(0, 0), (100, 0)], STREET), ([(100, 0), (300, 0)], grade)]
    d = run(roads, [(0, 0)], [(250, 2)])
    assert d[0] == pytest.approx(np.hypot(150, 2) + 100)
    assert every_crossing_noded(roads, [(0, 0)], [(250, 2)])[0] == pytest.approx(252)
