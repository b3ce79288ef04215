"""The illustrative Shilongxi dataset: files in ``data/`` made by ``generate.py``, and a loader.

The data is invented (the source article gives no coordinates) and is labelled as such wherever
it is shown.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from ..importer import ImportReport, Progress, import_frame, read_file
from ..layers import get_layer
DATA_DIR = Path(__file__).resolve().parent / "data"
NOTE = "示意数据 Illustrative data: generated, not surveyed"
FILES = {  # layer → file name, in load order (references point backwards)
    "admin_areas": "admin_areas.csv",
    "community": "community.geojson",
    "grids": "grids.geojson",
    "grid_staff": "grid_staff.csv",
    "party_organizations": "party_organizations.csv",
    "party_members": "party_members.csv",
    "compounds": "compounds.geojson",
    "buildings": "buildings.geojson",
    "households": "households.geojson",
    "roads": "roads.geojson",
    "parking_lots": "parking_lots.geojson",
    "facilities": "facilities.geojson",
    "units": "units.csv",
}



__all__ = ["DATA_DIR", "FILES", "NOTE", "is_loaded", "load_sample"]


def is_loaded(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT EXISTS (SELECT 1 FROM grids)")).scalar()


def load_sample(engine: Engine, data_dir: Path = DATA_DIR,
                progress: Progress | None = None) -> list[ImportReport]:
    """Import every sample layer and, into an empty incidents table, the illustrative incident
    history; in one transaction (all or nothing)."""
    from .history import load_history
    from .rounds import load_rounds
    frames = {layer: read_file(data_dir / name, get_layer(layer)) for layer, name in FILES.items()}
    with engine.begin() as conn:
        reports = [import_frame(conn, layer, df, progress=progress)
                   for layer, df in frames.items()]
        n = load_history(conn)
        reports.append(ImportReport("incidents (illustrative history)", read=n, inserted=n))
        visits, walks = load_rounds(conn)
        reports.append(ImportReport("visits (illustrative)", read=visits, inserted=visits))
        reports.append(ImportReport("patrols (illustrative)", read=walks, inserted=walks))
        return reports
