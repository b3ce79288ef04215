"""Photos attached to incidents: checked, re-encoded without metadata, stored on disk.

Re-encoding drops every EXIF block, GPS position included (reporters' locations are personal
data); the orientation tag is applied to the pixels first so the picture stays upright.

A file is written under a temporary name, flushed to disk and then renamed (atomic on one file
system), so a process killed mid-write never leaves a truncated photo under a real name. A
process killed between the rename and its database commit leaves a file no row names:
``sweep`` removes those, and stale temporary files, once they are older than any upload.
"""
from __future__ import annotations

import io
import os
import time
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import Connection, text

from .accounts import Account, audit
from .scope import IN_SCOPE, refuse_missing, write_grids
from .workflow import InvalidInput

FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
           "WEBP": ("webp", "image/webp")}
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000


class NotAnImage(InvalidInput):
    pass


class TooLarge(InvalidInput):
    pass


def clean_image(data: bytes, max_bytes: int = MAX_BYTES) -> tuple[bytes, str, int, int]:
    """Re-encoded bytes without metadata, their format key, width and height."""
    if len(data) > max_bytes:
        raise TooLarge("the photo is %(size).1f MB; the limit is %(limit).0f MB",
                       size=len(data) / 2**20, limit=max_bytes / 2**20)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise NotAnImage("%(format)s images are not accepted; use JPEG, PNG or WebP",
                             format=image.format)
        if image.width * image.height > MAX_PIXELS:
            raise TooLarge("the photo has %(width)s×%(height)s pixels; the limit is %(limit)s "
                           "million", width=image.width, height=image.height,
                           limit=MAX_PIXELS // 1_000_000)
        fmt = image.format
        image = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        if fmt == "JPEG":
            image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
        else:
            image.save(out, fmt)
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise NotAnImage("the file is not a readable JPEG, PNG or WebP image") from None
    return out.getvalue(), fmt, image.width, image.height


TEMP_SUFFIX = ".part"
SWEEP_AFTER_S = 3600      # an upload older than this that no row names was never committed


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + TEMP_SUFFIX)
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)


def sweep(conn: Connection, media_dir: str | Path, older_than_s: float = SWEEP_AFTER_S,
          dry_run: bool = False) -> list[str]:
    """Remove the files in ``media_dir`` that no photo row names (an upload killed before its
    commit) and unfinished temporary files, if older than ``older_than_s``; returns their
    names."""
    media = Path(media_dir)
    if not media.is_dir():
        return []
    known = set(conn.execute(text("SELECT filename FROM incident_photos")).scalars())
    cutoff = time.time() - older_than_s
    gone = []
    for path in sorted(media.iterdir()):
        if path.is_file() and path.name not in known and path.stat().st_mtime < cutoff:
            if not dry_run:
                path.unlink(missing_ok=True)
            gone.append(path.name)
    return gone


def save_photo(conn: Connection, media_dir: str | Path, incident_id: int, data: bytes,
               actor: Account, max_bytes: int = MAX_BYTES) -> dict:
    """Store a photo for an incident in the actor's grids (file + row + a note in the
    history); audited. The file is removed again if the row cannot be written."""
    grids = write_grids(actor)
    refuse_missing(conn, incident_id, grids)   # before decoding a picture nobody may attach
    clean, fmt, width, height = clean_image(data, max_bytes)
    ext, content_type = FORMATS[fmt]
    media = Path(media_dir)
    media.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{ext}"
    path = media / name
    _write_atomically(path, clean)
    try:
        row = conn.execute(text(f"""
            WITH target AS (
                SELECT i.id, i.state FROM incidents i JOIN grids g ON g.id = i.grid_id
                WHERE i.id = :incident AND {IN_SCOPE.format(g="g")}),
            ph AS (
                INSERT INTO incident_photos (incident_id, filename, content_type, size_bytes,
                                             width, height, uploaded_by)
                SELECT id, :name, :ctype, :size, :w, :h, :by FROM target
                RETURNING id, filename, content_type, size_bytes, width, height),
            ev AS (
                INSERT INTO incident_events (incident_id, actor, from_state, to_state, note,
                                             photos)
                SELECT t.id, :by, t.state, t.state, '上传照片', jsonb_build_array(ph.id)
                FROM target t, ph)
            SELECT * FROM ph"""),
            dict(incident=incident_id, name=name, ctype=content_type, size=len(clean),
                 w=width, h=height, by=actor.name, grids=grids)).mappings().one_or_none()
        if row is None:
            refuse_missing(conn, incident_id, grids)
        audit(conn, actor.name, "incident.photo", str(incident_id), photo=row["id"])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return dict(row)
