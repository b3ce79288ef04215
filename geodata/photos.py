"""Photos attached to incidents: checked, re-encoded without metadata, stored on disk.

Re-encoding drops every EXIF block, GPS position included (reporters' locations are personal
data), XMP and comments; the orientation tag is applied to the pixels first so the picture stays
upright. Pictures are refused by the size their header declares before anything is decoded
(``MAX_PIXELS``: a small file may declare a huge picture), decoded at most ``MAX_DECODING`` at a
time per process, and kept at most ``MAX_SIDE`` pixels wide or high.

A file is written under a temporary name, flushed to disk and then renamed (atomic on one file
system), so a process killed mid-write never leaves a truncated photo under a real name. A
process killed between the rename and its database commit leaves a file no row names:
``sweep`` removes those, and stale temporary files, once they are older than any upload.
"""
from __future__ import annotations

import io
import os
import threading
import time
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import Connection, text

from .accounts import Account, audit
from .scope import IN_AREAS, IN_SCOPE, read_areas, refuse_missing, write_grids
from .workflow import InvalidInput, NotFound

FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
           "WEBP": ("webp", "image/webp")}
MAX_BYTES = 8 * 1024 * 1024
# A phone's camera takes 12–50 Mpx, saved below 24 Mpx by most; what the header declares is
# checked before a pixel is decoded, since a small file can declare a huge picture (a
# decompression bomb: 150 kB of PNG may unpack to 120 MB).
MAX_PIXELS = 24_000_000
MAX_SIDE = 4096          # kept pictures are scaled down to this on their longer side
# Decoding holds up to 4 bytes a pixel (~100 MB at MAX_PIXELS) plus its copies: at most this
# many pictures are decoded at once in a process, the others wait their turn.
MAX_DECODING = 2
ORIENTATION = 0x0112     # the EXIF tag saying how the camera was held
KEPT_INFO = ("transparency", "icc_profile", "dpi")
_decoding = threading.BoundedSemaphore(MAX_DECODING)
# Pillow keeps this many freed 16 MB blocks for the next picture instead of handing them back
# to malloc, which under many threads scatters them over per-thread arenas and lets a
# process's memory grow with its thread count (8 threads: 1.0 GB instead of 0.4 GB)
Image.core.set_blocks_max(MAX_DECODING * 12)


class NotAnImage(InvalidInput):
    pass


class TooLarge(InvalidInput):
    pass


def _declared(data: bytes) -> Image.Image:
    """The picture as its header describes it, nothing decoded; refused when it is not one of
    ours or declares more than MAX_PIXELS."""
    try:
        image = Image.open(io.BytesIO(data))    # reads the header only
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError):
        raise NotAnImage("the file is not a readable JPEG, PNG or WebP image") from None
    if image.format not in FORMATS:
        raise NotAnImage("%(format)s images are not accepted; use JPEG, PNG or WebP",
                         format=image.format)
    if image.width * image.height > MAX_PIXELS:
        raise TooLarge("the photo has %(width)s×%(height)s pixels; the limit is %(limit)s "
                       "million", width=image.width, height=image.height,
                       limit=MAX_PIXELS // 1_000_000)
    return image


def clean_image(data: bytes, max_bytes: int = MAX_BYTES) -> tuple[bytes, str, int, int]:
    """Re-encoded bytes without metadata (at most MAX_SIDE pixels on the longer side), their
    format key, width and height."""
    if len(data) > max_bytes:
        raise TooLarge("the photo is %(size).1f MB; the limit is %(limit).0f MB",
                       size=len(data) / 2**20, limit=max_bytes / 2**20)
    fmt = _declared(data).format
    with _decoding:
        try:
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            image = Image.open(io.BytesIO(data))
            if fmt == "JPEG":   # a big JPEG is decoded at 1/2, 1/4 or 1/8 straight away
                image.draft("RGB", (MAX_SIDE, MAX_SIDE))
            if image.getexif().get(ORIENTATION, 1) != 1:   # else no copy of the pixels
                image = ImageOps.exif_transpose(image)
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            if fmt == "JPEG":
                image = image.convert("RGB")
            # nothing of the file's metadata goes along (EXIF, XMP, comments: places, names,
            # devices) but what the pixels need to look the same
            image.info = {k: v for k, v in image.info.items() if k in KEPT_INFO}
            out = io.BytesIO()
            if fmt == "JPEG":
                image.save(out, "JPEG", quality=88, optimize=True)
            else:
                image.save(out, fmt)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
                Image.DecompressionBombError):
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


def readable(conn: Connection, filename: str, viewer: Account | None) -> str:
    """The content type of the photo stored as ``filename`` if ``viewer`` may see it: the
    accounts that read its incident (``scope.read_areas``); the public sees no photos.
    NotFound otherwise, the same answer as for a file that does not exist."""
    if viewer is None:
        raise NotFound("no photo %(name)s", name=filename)
    found = conn.execute(text(f"""
        SELECT p.content_type FROM incident_photos p
        JOIN incidents i ON i.id = p.incident_id JOIN grids g ON g.id = i.grid_id
        WHERE p.filename = :name AND {IN_AREAS.format(g="g")}"""),
        {"name": filename, "areas": read_areas(viewer)}).scalar_one_or_none()
    if found is None:
        raise NotFound("no photo %(name)s", name=filename)
    return found
