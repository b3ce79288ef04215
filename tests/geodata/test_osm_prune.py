"""Re-importing OpenStreetMap never loses a road it still has: hand-written extracts, each case
the importer must get right.

* ``--prune`` removes a way only when a file declaring an extent that covers the whole box no
  longer has it; a file that covers less, or declares nothing, is refused and changes nothing;
* a stored way that moved out of the box is updated where it now lies, not removed;
* nothing outside the box, and no road that did not come from OpenStreetMap, is ever removed;
* an unchanged file changes nothing: no row written, no data version moved;
* closed highway ways that GDAL reads as areas are walked along their outline.
"""
import pytest
from sqlalchemy import text

from geodata.importer import ImportRejected
from geodata.osm import import_osm, read_ways

BOX = (107.600, 31.300, 107.610, 31.310)


def extract(path, ways: dict, bounds=(107.59, 31.29, 107.62, 31.32), relations=""):
    """An .osm file: ``ways`` maps a way id to (tags, [(lon, lat), …]); every point its own
    node, except that equal points share one (as OSM ways meet at shared nodes)."""
    nodes, refs, body = {}, [], []
    for wid, (tags, points) in ways.items():
        ids = [nodes.setdefault(p, len(nodes) + 1) for p in points]
        body.append(f'<way id="{wid}" version="1">' + "".join(f'<nd ref="{i}"/>' for i in ids)
                    + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</way>")
    head = ("" if bounds is None else
            f'<bounds minlon="{bounds[0]}" minlat="{bounds[1]}" maxlon="{bounds[2]}" '
            f'maxlat="{bounds[3]}"/>')
    points = "".join(f'<node id="{i}" lon="{x}" lat="{y}" version="1"/>'
                     for (x, y), i in nodes.items())
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">' + head + points
                    + "".join(body) + relations + "</osm>", encoding="utf-8")
    return path


FOOT = {"highway": "footway"}
V1 = {
    1: (FOOT, [(107.601, 31.301), (107.603, 31.301)]),               # stays
    2: (FOOT, [(107.603, 31.301), (107.605, 31.303)]),               # deleted in v2
    3: ({"highway": "residential", "name": "溪畔路"},                 # moves east, out of the box
        [(107.605, 31.303), (107.608, 31.306)]),
    4: (FOOT, [(107.615, 31.315), (107.618, 31.318)]),               # outside the box
}
V2 = {1: V1[1], 3: (V1[3][0], [(107.612, 31.303), (107.615, 31.306)])}


def roads(db) -> dict:
    with db.connect() as conn:
        return dict(conn.execute(text(
            "SELECT code, ST_AsText(geom) FROM roads ORDER BY code")).all())


def version(db) -> int:
    with db.connect() as conn:
        return conn.execute(text("SELECT version FROM data_versions WHERE layer = 'roads'")
                            ).scalar_one()


@pytest.fixture
def stored(db, tmp_path):
    report = import_osm(db, extract(tmp_path / "v1.osm", V1), actor="tests")
    assert report.imported.inserted == 4
    return db, tmp_path


def test_prune_removes_only_what_a_covering_file_no_longer_has(stored):
    db, tmp = stored
    before = roads(db)
    report = import_osm(db, extract(tmp / "v2.osm", V2), bbox=BOX, prune=True, actor="tests")
    after = roads(db)
    assert report.pruned == ["osm-w2"]                                # gone from OSM
    assert "osm-w2" not in after
    assert after["osm-w3"] != before["osm-w3"] and "107.612" in after["osm-w3"]   # moved
    assert report.moved == 1
    assert after["osm-w1"] == before["osm-w1"] and after["osm-w4"] == before["osm-w4"]
    # the survey's own roads inside or near the box were never OSM's to remove
    assert set(before) - set(after) == {"osm-w2"}


@pytest.mark.parametrize("bounds, says", [
    ((107.59, 31.29, 107.605, 31.32), "not the whole --bbox"),       # the file ends mid-box
    (None, "declares no extent"),
])
def test_prune_is_refused_when_the_file_cannot_prove_a_way_is_gone(stored, bounds, says):
    db, tmp = stored
    before, at = roads(db), version(db)
    with pytest.raises(ImportRejected, match=says) as refused:
        import_osm(db, extract(tmp / "v2.osm", V2, bounds=bounds), bbox=BOX, prune=True,
                   actor="tests")
    assert "nothing was changed" in str(refused.value)
    assert roads(db) == before and version(db) == at


def test_without_prune_a_moved_way_is_updated_and_nothing_removed(stored):
    db, tmp = stored
    before = roads(db)
    report = import_osm(db, extract(tmp / "v2.osm", V2), bbox=BOX, actor="tests")
    after = roads(db)
    assert set(after) == set(before) and report.pruned == []
    assert "107.612" in after["osm-w3"] and report.moved == 1


def test_a_new_way_outside_the_box_is_left_out(stored):
    db, tmp = stored
    more = V1 | {5: (FOOT, [(107.62, 31.32), (107.621, 31.321)])}
    report = import_osm(db, extract(tmp / "v3.osm", more), bbox=BOX, actor="tests")
    assert "osm-w5" not in roads(db) and report.outside == 1


def test_a_dry_run_prune_says_what_it_would_remove_and_removes_nothing(stored):
    db, tmp = stored
    before = roads(db)
    report = import_osm(db, extract(tmp / "v2.osm", V2), bbox=BOX, prune=True, dry_run=True,
                        actor="tests")
    assert report.pruned == ["osm-w2"] and "would remove 1" in str(report)
    assert roads(db) == before


def test_an_unchanged_file_changes_nothing(stored):
    db, tmp = stored
    at = version(db)
    report = import_osm(db, tmp / "v1.osm", actor="tests")
    assert (report.imported.inserted, report.imported.updated) == (0, 0)
    assert report.imported.unchanged == 4 and "4 unchanged" in str(report)
    assert version(db) == at                       # tiles keep their ETag, coverage its cache
    changed = V1 | {1: ({"highway": "footway", "name": "新名字"}, V1[1][1])}
    again = import_osm(db, extract(tmp / "v1b.osm", changed), actor="tests")
    assert (again.imported.updated, again.imported.unchanged) == (1, 3)
    assert version(db) == at + 1


@pytest.mark.parametrize("bbox, says", [
    ((31.300, 107.600, 31.310, 107.610), "looks like latitude,longitude"),
    ((100.0, 20.0, 100.1, 20.1), "lies outside v1.osm, which covers 107.59,31.29,107.62,31.32"),
])
def test_a_box_that_misses_the_file_says_why(stored, bbox, says):
    db, tmp = stored
    with pytest.raises(ImportRejected, match=says):
        import_osm(db, tmp / "v1.osm", bbox=bbox, actor="tests")


AREAS = {
    20: ({"highway": "pedestrian", "area": "yes", "name": "溪口广场"},
         [(107.601, 31.305), (107.603, 31.305), (107.603, 31.307), (107.601, 31.305)]),
    21: ({"highway": "service", "amenity": "parking"},
         [(107.604, 31.305), (107.606, 31.305), (107.606, 31.307), (107.604, 31.307),
          (107.604, 31.305)]),
    22: (FOOT, [(107.603, 31.307), (107.604, 31.307)]),     # joins the two at shared nodes
    23: ({"barrier": "fence"}, [(107.601, 31.308), (107.602, 31.308), (107.602, 31.309),
                                (107.601, 31.308)]),         # the outline of an area relation
}
RELATION = ('<relation id="90" version="1"><member type="way" ref="23" role="outer"/>'
            '<tag k="type" v="multipolygon"/><tag k="highway" v="pedestrian"/></relation>')


def test_closed_highway_ways_read_as_areas_are_walked_along_their_outline(tmp_path):
    frame, report = read_ways(extract(tmp_path / "areas.osm", AREAS, relations=RELATION))
    rows = frame.set_index("osm_id")
    assert set(rows.index) == {20, 21, 22} and report.areas == 2
    assert tuple(rows.loc[20, ["class", "name"]]) == ("lane", "溪口广场")
    assert rows.loc[21, "geometry"].is_ring and rows.loc[21, "geometry"].length > 0
    assert report.skipped == {"area relation": 1}
    assert "2 areas walked along their outline" in str(report)
