"""Photos: refused by the size their header declares before a pixel is decoded, scaled to a
sensible size, and stripped of every kind of metadata whatever the format."""
import io
import struct
import zlib

import pytest
from PIL import Image

from geodata.photos import MAX_PIXELS, MAX_SIDE, TooLarge, clean_image


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG of ``width`` × ``height`` black RGB pixels: a few hundred kB at most however
    large it claims to be, since its rows of zeros compress about a thousandfold."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack("!I", len(data)) + kind + data
                + struct.pack("!I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack("!IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_a_bomb_is_refused_by_its_declared_size():
    bomb = png_declaring(6300, 6300)
    assert len(bomb) < 200_000                       # 150 kB that would unpack to 119 MB
    with pytest.raises(TooLarge, match="6300×6300"):
        clean_image(bomb)
    just_over = png_declaring(6000, 4001)
    assert 6000 * 4001 > MAX_PIXELS
    with pytest.raises(TooLarge):
        clean_image(just_over)


def test_the_largest_allowed_photo_is_kept_scaled_to_the_longest_side():
    clean, fmt, w, h = clean_image(png_declaring(6000, 4000))
    assert 6000 * 4000 == MAX_PIXELS
    assert (fmt, w, h) == ("PNG", MAX_SIDE, round(4000 * MAX_SIDE / 6000))
    assert Image.open(io.BytesIO(clean)).size == (w, h)


def test_a_phone_photo_keeps_its_size():
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), "green").save(out, "JPEG", quality=70)
    _, fmt, w, h = clean_image(out.getvalue())
    assert (fmt, w, h) == ("JPEG", 4000, 3000)


def metadata_of(raw: bytes) -> dict:
    image = Image.open(io.BytesIO(raw))
    image.load()
    return {"exif": dict(image.getexif()), **{k: v for k, v in image.info.items()
                                              if k in ("exif", "xmp", "comment")}}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_xmp_and_comments_are_dropped_in_every_format(fmt):
    exif = Image.Exif()
    exif[0x0110] = "TestPhone"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (107.0, 29.0, 0.0)}
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPS 31.2455 107.4955</x:xmpmeta>'
    extra = {"comment": b"reporter: Li Na 13800000000"} if fmt == "JPEG" else {}
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, fmt, exif=exif, xmp=xmp, **extra)
    assert metadata_of(out.getvalue())["exif"]          # the original carries it
    clean, got, w, h = clean_image(out.getvalue())
    assert (got, w, h) == (fmt, 40, 30)
    assert metadata_of(clean) == {"exif": {}}
    assert b"13800000000" not in clean and b"107.4955" not in clean


def test_a_sideways_photo_is_turned_upright():
    exif = Image.Exif()
    exif[0x0112] = 6                                   # rotated 90° clockwise when taken
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "JPEG", exif=exif)
    _, _, w, h = clean_image(out.getvalue())
    assert (w, h) == (30, 40)
