"""Command-line tools: ``flask --app app db …`` and ``flask --app app geodata …``."""
from __future__ import annotations

import getpass
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from geodata import accounts, backup, migrate, osm, photos
from geodata.db import NoDatabaseConfigured
from geodata.exporter import EXPORTABLE, ExportError, export_layer
from geodata.importer import ImportRejected, import_file, import_package
from geodata.layers import LAYERS
from geodata.models import ROLES
from geodata.points import parse_bbox
from geodata.workflow import InvalidInput
from geodata.sample import is_loaded, load_sample

from .helpers import get_db


class Group(AppGroup):
    """A command group whose database troubles end in one line, not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (NoDatabaseConfigured, migrate.PostGISMissing) as exc:
            raise click.ClickException(str(exc)) from None
        except OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise click.ClickException(f"cannot reach the database: {reason}") from None
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42P01":   # undefined table
                raise
            raise click.ClickException("the database has no tables yet; create them with: "
                                       "flask --app app db upgrade") from None


db_cli = Group("db", help="Database schema (Alembic migrations), backup and restore.")
geodata_cli = Group("geodata", help="Import, export and sample data.")
users_cli = Group("users", help="Accounts and API tokens.")

LAYER = click.Choice(list(LAYERS))


@contextmanager
def _one_line(*errors: type[Exception]):
    """What the user can put right (an unknown name, a bad value) as one line, no traceback."""
    try:
        yield
    except errors as exc:
        raise click.ClickException(str(exc)) from None


@users_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option("--grid", "grids", multiple=True, help="Grid code (grid heads and workers; "
                                                     "repeat for several).")
@click.option("--area", "areas", multiple=True,
              help="Scope an admin or planner to a district (6 digits), subdistrict (9) or "
                   "community (12) code; repeat for several; none: the whole platform.")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input (never from the command line).")
def users_create(name: str, role: str, grids: tuple[str, ...], areas: tuple[str, ...],
                 password_stdin: bool):
    """Create the account NAME with a ROLE (and its grids, or its areas)."""
    password = sys.stdin.readline().rstrip("\n")
    with _one_line(accounts.InvalidInput):
        with get_db().begin() as conn:
            account = accounts.create_user(conn, name, role, password, grids + areas,
                                           actor=f"cli:{getpass.getuser()}")
    click.echo(f"user {account.name} created ({account.role}"
               + (f", {'grids' if grids else 'areas'} {', '.join(account.grid_codes)}"
                  if account.grid_codes else "") + ")")


@users_cli.command("deactivate")
@click.argument("name")
def users_deactivate(name: str):
    """Switch NAME's account off, revoke its API tokens and end its sessions (at once, in
    every worker)."""
    with _one_line(accounts.NotFound):
        with get_db().begin() as conn:
            revoked = accounts.deactivate(conn, name, actor=f"cli:{getpass.getuser()}")
    click.echo(f"user {name} deactivated; {revoked} token(s) revoked")


@users_cli.command("status")
def users_status():
    """Say how many accounts exist, and how to create the first admin when there is none."""
    with get_db().connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM users WHERE active")).scalar()
    if n:
        click.echo(f"{n} active account(s)")
    else:
        click.echo("No accounts yet. Create the first admin (the password is read from "
                   "standard input):\n"
                   "  .venv/bin/flask --app app users create admin --role admin "
                   "--password-stdin")


@users_cli.command("token")
@click.argument("name")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="How long the token lives (default: TOKEN_DAYS, 180).")
def users_token(name: str, days: int | None):
    """Issue a new API token for NAME (printed once; send it as 'Authorization: Bearer …').
    It expires after --days; 'users tokens NAME' lists a user's tokens."""
    days = days or current_app.config["TOKEN_DAYS"]
    with _one_line(accounts.NotFound):
        with get_db().begin() as conn:
            token = accounts.issue_token(conn, name, actor=f"cli:{getpass.getuser()}",
                                         days=days)
    click.echo(token)


def _when(value) -> str:
    return value[:16].replace("T", " ") if value else "never"


@users_cli.command("tokens")
@click.argument("name")
def users_tokens(name: str):
    """List NAME's API tokens: id, first characters, issued, last used, expiry."""
    with _one_line(accounts.NotFound):
        with get_db().connect() as conn:
            found = accounts.tokens(conn, name)
    if not found:
        click.echo(f"{name} has no API tokens")
    for t in found:
        click.echo(f"{t['id']:>6}  {(t['hint'] or '?') + '…':<10} issued {_when(t['created_at'])}"
                   f"  last used {_when(t['last_used_at'])}  "
                   + ("EXPIRED " if t["expired"] else "expires ") + _when(t["expires_at"]))


@users_cli.command("revoke-token")
@click.argument("token_id", type=int)
def users_revoke_token(token_id: int):
    """Revoke one API token by the id 'users tokens NAME' shows (at once, in every worker)."""
    with _one_line(accounts.NotFound):
        with get_db().begin() as conn:
            owner = accounts.revoke_token(conn, token_id, actor=f"cli:{getpass.getuser()}")
    click.echo(f"token {token_id} of {owner} revoked")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str):
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(current_app.config.get("DATABASE_URL"), revision)
    click.echo(f"database at revision {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str):
    """Revert migrations down to REVISION ('base' empties the schema)."""
    migrate.downgrade(current_app.config.get("DATABASE_URL"), revision)
    click.echo(f"database at revision {revision}")


def _progress_bar(label: str):
    """A click progress bar that appears only for files large enough to wait for."""
    state = {"bar": None}

    def update(done: int, total: int) -> None:
        if total < 5000:
            return
        if state["bar"] is None:
            state["bar"] = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"].__enter__()
        bar = state["bar"]
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)
            state["bar"] = None     # the next layer of a package gets its own bar

    return update


@db_cli.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(file: Path):
    """Write a full backup of the database to FILE (pg_dump, custom format)."""
    try:
        backup.backup(file, current_app.config.get("DATABASE_URL"))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written to {file} ({file.stat().st_size / 2**20:.1f} MB)")


@db_cli.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_restore(file: Path, yes: bool):
    """Replace the database's contents with the backup in FILE (all or nothing)."""
    if not yes:
        click.confirm(f"Replace everything in the database with {file}?", abort=True)
    try:
        backup.restore(file, current_app.config.get("DATABASE_URL"))
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database restored from {file}")


@geodata_cli.command("import")
@click.argument("layer", type=LAYER)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--crs", help="CRS of the file when it does not say (e.g. EPSG:4545); overrides it.")
@click.option("--from-gcj02", is_flag=True,
              help="Coordinates were captured on a GCJ-02 map (Gaode/Tencent): shift them to WGS 84.")
@click.option("--from-bd09", is_flag=True,
              help="Coordinates were captured on a Baidu map (BD-09): shift them to WGS 84.")
@click.option("--layer", "source_layer", metavar="NAME",
              help="Which layer of a multi-layer file (GeoPackage, .osm.pbf …); default: the first.")
@click.option("--reject-invalid", is_flag=True,
              help="Reject invalid geometries instead of repairing them with make_valid.")
@click.option("--noding", type=click.Choice(["planar", "vertices"]),
              help="Roads only, for files without a noding column: 'planar' (the default: "
                   "survey lines, crossings at the same grade are junctions) or 'vertices' "
                   "(ways meet only at shared vertices, as in OpenStreetMap).")
@click.option("--map", "mapping", multiple=True, metavar="TARGET=SOURCE",
              help="Read the layer's column TARGET from the file's column SOURCE "
                   "(repeatable), e.g. --map code=ID --map class=highway.")
@click.option("--value", "recode", multiple=True, metavar="COLUMN:FROM=TO",
              help="Recode a value of COLUMN (repeatable), e.g. "
                   "--value class:residential=group_road.")
@click.option("--explode", is_flag=True,
              help="Import each part of a multi-part polygon as its own feature: for grids "
                   "the largest part keeps the code and the others become '<name>（2）', … "
                   "with new codes in the same community; elsewhere '<code>-1', '<code>-2'.")
@click.option("--dry-run", is_flag=True, help="Check the file and report what would change; "
                                              "write nothing.")
def import_cmd(layer: str, file: Path, crs: str | None, from_gcj02: bool, from_bd09: bool,
               source_layer: str | None, reject_invalid: bool, noding: str | None,
               mapping: tuple[str, ...], recode: tuple[str, ...], explode: bool,
               dry_run: bool):
    """Import FILE (GeoJSON, GeoPackage, Shapefile or CSV with lon/lat) into LAYER.

    Features are matched by their `code`: existing ones are updated, new ones inserted. The import
    is one transaction: if any feature is rejected, nothing changes and every problem is listed.
    """
    if noding and layer != "roads":
        raise click.UsageError("--noding applies to the roads layer only")
    columns, values = {}, {}
    for item in mapping:
        target, sep, source = item.partition("=")
        if not (sep and target.strip() and source.strip()):
            raise click.BadParameter(f"{item!r}: write TARGET=SOURCE, e.g. code=ID",
                                     param_hint="--map")
        columns[target.strip()] = source.strip()
    for item in recode:
        column, sep, pair = item.partition(":")
        old, eq, new = pair.partition("=")
        if not (sep and eq and column.strip() and old):
            raise click.BadParameter(f"{item!r}: write COLUMN:FROM=TO, e.g. "
                                     "class:residential=group_road", param_hint="--value")
        values.setdefault(column.strip(), {})[old] = new
    try:
        report = import_file(get_db(), layer, file, crs=crs, from_gcj02=from_gcj02,
                             from_bd09=from_bd09, source_layer=source_layer,
                             invalid="reject" if reject_invalid else "repair",
                             progress=_progress_bar(f"importing {layer}"),
                             actor=f"cli:{getpass.getuser()}", dry_run=dry_run,
                             defaults={"noding": noding} if noding else None,
                             columns=columns, values=values, explode=explode)
    except ImportRejected as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(report))


@geodata_cli.command("import-package")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from-gcj02", is_flag=True,
              help="Coordinates were captured on a GCJ-02 map (Gaode/Tencent): shift them to WGS 84.")
@click.option("--from-bd09", is_flag=True,
              help="Coordinates were captured on a Baidu map (BD-09): shift them to WGS 84.")
@click.option("--reject-invalid", is_flag=True,
              help="Reject invalid geometries instead of repairing them with make_valid.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
def import_package_cmd(file: Path, from_gcj02: bool, from_bd09: bool, reject_invalid: bool,
                       dry_run: bool):
    """Import every layer of FILE (a GeoPackage) named like one of the service's layers
    (grids, buildings, households, facilities, … see `geodata layers`), in one transaction.

    Layers are imported in dependency order (grids before staff, buildings before households);
    the file's other layers are listed and left alone.
    """
    try:
        reports, others = import_package(get_db(), file, from_gcj02=from_gcj02,
                                         from_bd09=from_bd09, dry_run=dry_run,
                                         invalid="reject" if reject_invalid else "repair",
                                         progress=_progress_bar("importing"),
                                         actor=f"cli:{getpass.getuser()}")
    except ImportRejected as exc:
        raise click.ClickException(str(exc)) from None
    for report in reports:
        click.echo(str(report))
    if others:
        click.echo(f"not imported (no such layer here): {', '.join(others)}")


def _bbox(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_bbox(value)
    except InvalidInput as exc:
        raise click.BadParameter(str(exc)) from None


@geodata_cli.command("import-osm")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--bbox", callback=_bbox, metavar="MINLON,MINLAT,MAXLON,MAXLAT",
              help="Add only the new ways that reach into this box (degrees, WGS 84); the "
                   "ways already stored are updated wherever they now lie.")
@click.option("--prune", is_flag=True,
              help="With --bbox: also remove the OSM roads in the box that the file no longer "
                   "has (kept if an incident names them). Only for a file declaring an extent "
                   "(<bounds>, a PBF header box) that covers the whole box; refused otherwise.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
def import_osm_cmd(file: Path, bbox, prune: bool, dry_run: bool):
    """Import the walkable ways of an OpenStreetMap FILE (.osm.pbf or .osm) as roads.

    Each way keeps its OSM way id, name (if any), class (from highway=*, see docs/coverage.md),
    surface and grade (layer, bridge, tunnel); ways meet only at shared nodes, and closed ways
    read as areas (pedestrian squares) are walked along their outline. Importing again updates
    the same roads by way id and leaves unchanged ones untouched. One transaction: all or
    nothing.
    """
    click.echo(f"reading the ways of {file.name} …", err=True)
    try:
        report = osm.import_osm(get_db(), file, bbox=bbox, dry_run=dry_run, prune=prune,
                                progress=_progress_bar("importing roads"),
                                actor=f"cli:{getpass.getuser()}")
    except ImportRejected as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(report))


@geodata_cli.command("export")
@click.argument("layer", type=click.Choice(EXPORTABLE))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--crs", help="Write in this CRS (EPSG:4490 for CGCS2000, EPSG:4545 or any "
                            "projected one); default EPSG:4326.")
@click.option("--to-gcj02", is_flag=True, help="Shift to GCJ-02, for Gaode/Tencent maps.")
@click.option("--to-bd09", is_flag=True, help="Shift to BD-09, for Baidu maps.")
@click.option("--as", "viewer", metavar="USER",
              help="incidents only: write what this account reads (its areas, exact places); "
                   "default: what the public sees.")
@click.option("--gpkg-version", type=click.Choice(["1.2", "1.3", "1.4"]), default="1.2",
              show_default=True, help="GeoPackage version of a .gpkg (1.2 reads in GDAL 3.6 "
                                      "and older QGIS without a warning).")
def export_cmd(layer: str, file: Path, crs: str | None, to_gcj02: bool, to_bd09: bool,
               viewer: str | None, gpkg_version: str):
    """Export LAYER to FILE; the extension picks the format (.geojson, .gpkg, .shp, .csv).

    References are written as codes, so the file can be edited and imported again.
    `incidents` exports what the public may see (personal cases blurred, without their text),
    or with --as USER what that account reads.
    """
    try:
        n = export_layer(get_db(), layer, file, crs=crs, to_gcj02=to_gcj02, to_bd09=to_bd09,
                         viewer=viewer, gpkg_version=gpkg_version)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{layer}: {n} feature(s) written to {file}")


@geodata_cli.command("duty-rules")
@click.option("--apart", "apart", multiple=True, metavar="STEP:EARLIER",
              help="Require that STEP be taken by someone other than whoever moved the case "
                   "to EARLIER, e.g. registered:reported (repeatable).")
@click.option("--drop", multiple=True, metavar="STEP", help="Drop the rule of STEP.")
def duty_rules_cmd(apart: tuple[str, ...], drop: tuple[str, ...]):
    """List (and change) the separation of duties in the closed loop: which step may not be
    taken by the person who took an earlier one (default: a case's reporter does not register
    it, whoever reported back on its handling does not verify and close it)."""
    from geodata import incidents
    with _one_line(ImportRejected, InvalidInput):
        with get_db().begin() as conn:
            for item in apart:
                step, sep, earlier = item.partition(":")
                if not sep:
                    raise click.BadParameter(f"{item!r}: write STEP:EARLIER, e.g. "
                                             "registered:reported", param_hint="--apart")
                incidents.set_duty_rule(conn, step.strip(), earlier.strip(),
                                        actor=f"cli:{getpass.getuser()}")
            for step in drop:
                incidents.set_duty_rule(conn, step.strip(), None,
                                        actor=f"cli:{getpass.getuser()}")
            rules = incidents.duty_rules(conn)
    for step, earlier in rules.items():
        click.echo(f"{step}: not by whoever moved the case to {earlier}")
    if not rules:
        click.echo("no separation of duties: anyone may take any step they may act on")


@geodata_cli.command("load-sample")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has grids.")
def load_sample_cmd(if_empty: bool):
    """Load the illustrative Shilongxi dataset (re-loading updates it in place)."""
    eng = get_db()
    if if_empty and is_loaded(eng):
        click.echo("sample data: already loaded")
        return
    for report in load_sample(eng):
        click.echo(str(report))


@geodata_cli.command("sweep-media")
@click.option("--older-than", "older_than", type=click.FloatRange(min=0), default=3600.0,
              show_default=True, help="Seconds: only files older than this are removed.")
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
def sweep_media_cmd(older_than: float, dry_run: bool):
    """Remove photo files that no incident names (uploads killed before their commit) and
    unfinished temporary files."""
    with get_db().connect() as conn:
        gone = photos.sweep(conn, current_app.config["MEDIA_DIR"], older_than, dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(gone)} file(s)" + "".join(f"\n  {name}" for name in gone))


@geodata_cli.command("layers")
def layers_cmd():
    """List the layers with the columns an import file may hold (* = required)."""
    for layer in LAYERS.values():
        cols = [f"{c}*" if c in layer.required else c for c in layer.attributes]
        cols += [f"{name}{'*' if name in layer.required_refs else ''} (→ {ref.layer}.code)"
                 for name, ref in layer.refs.items()]
        geometry = layer.geometry.lower() if layer.geometry else "no geometry: CSV"
        click.echo(f"{layer.name} — {layer.title}, {geometry}")
        click.echo(f"    {', '.join(cols)}")
        for col, allowed in layer.choices.items():
            click.echo(f"    {col}: {' | '.join(allowed)}")
