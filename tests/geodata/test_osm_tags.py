"""How ``geodata.osm.read_ways`` reads OpenStreetMap tags, on a small hand-written .osm file: what
is walkable, what is skipped and why, and the grade of each way."""
import pytest

from geodata.osm import read_ways

WAYS = {   # way id: (tags, expected class or the reason it is skipped)
    1: ({"highway": "footway", "name": "溪边步道"}, "path"),
    2: ({"highway": "residential"}, "group_road"),
    3: ({"highway": "trunk"}, "highway=trunk"),
    4: ({"highway": "trunk", "foot": "yes"}, "arterial"),
    5: ({"highway": "service", "access": "private"}, "no foot access"),
    6: ({"highway": "service", "access": "private", "foot": "permissive"}, "lane"),
    7: ({"highway": "path", "foot": "no"}, "no foot access"),
    8: ({"highway": "footway", "tunnel": "yes", "layer": "-1"}, "path"),
    9: ({"highway": "footway", "tunnel": "building_passage"}, "path"),
    10: ({"highway": "primary", "bridge": "viaduct", "layer": "2;1"}, "arterial"),
    11: ({"highway": "construction"}, "highway=construction"),
    12: ({"highway": "steps", "layer": "1", "surface": "concrete"}, "path"),
    13: ({"highway": "footway"}, "fewer than two distinct nodes"),
    14: ({"building": "yes"}, None),                      # not a highway at all
}


def osm_file(path):
    nodes = ['<node id="1" lat="31.2400" lon="107.4900"/>',
             '<node id="2" lat="31.2400" lon="107.4910"/>',
             '<node id="3" lat="31.2400" lon="107.4910"/>']   # 3 sits where 2 is
    ways = []
    for wid, (tags, _) in WAYS.items():
        refs = (2, 3) if wid == 13 else (1, 2)
        ways.append(f'<way id="{wid}">' + "".join(f'<nd ref="{r}"/>' for r in refs)
                    + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</way>")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">'
                    + "".join(nodes + ways) + "</osm>", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ways(tmp_path_factory):
    return read_ways(osm_file(tmp_path_factory.mktemp("osm") / "hand.osm"))


def test_walkable_ways_get_their_class_and_the_rest_a_reason(ways):
    frame, report = ways
    got = dict(zip(frame["osm_id"], frame["class"]))
    for wid, (_, expected) in WAYS.items():
        if expected in ("path", "group_road", "arterial", "lane"):
            assert got.get(wid) == expected, wid
        else:
            assert wid not in got, wid
    assert report.ways == 13            # the building is no highway
    assert report.skipped == {"highway=trunk": 1, "no foot access": 2,
                              "highway=construction": 1, "fewer than two distinct nodes": 1}


def test_grades_names_codes_and_surface(ways):
    frame, _ = ways
    row = {r.osm_id: r for r in frame.itertuples()}
    assert (row[8].tunnel, row[8].bridge, row[8].layer) == (True, False, -1)
    assert (row[9].tunnel, row[9].layer) == (False, 0)         # at street level
    assert (row[10].bridge, row[10].layer) == (True, 0)        # "2;1" is no single layer
    assert (row[12].layer, row[12].surface) == (1, "concrete")
    assert row[1].name == "溪边步道" and row[2].name is None
    assert set(frame["code"]) == {f"osm-w{i}" for i in row} and set(frame["noding"]) == {
        "vertices"}
