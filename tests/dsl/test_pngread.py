"""The test PNG decoder (tests/dsl/pngread.py) against images encoded here,
independently, with every PNG filter type (PNG spec section 9.2, written
forwards from the spec's definitions): the decoded pixels must be the
pixels that were encoded.  Each filter's image is also decoded with every
other filter's inverse to show the check tells them apart."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from pngread import png_colours, read_png, unfilter


def _paeth_predictor(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    if pb <= pc:
        return b
    return c


def _filter(ftype: int, row: bytes, prior: bytes, bpp: int) -> bytes:
    out = bytearray()
    for x, v in enumerate(row):
        left = row[x - bpp] if x >= bpp else 0
        up = prior[x]
        upleft = prior[x - bpp] if x >= bpp else 0
        pred = [0, left, up, (left + up) // 2, _paeth_predictor(left, up, upleft)][ftype]
        out.append((v - pred) % 256)
    return bytes(out)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + \
        struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _encode(width: int, rows: list[bytes], channels: int, ftypes: list[int]) -> bytes:
    ctype = 6 if channels == 4 else 2
    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, ctype, 0, 0, 0)
    raw = b""
    prior = bytes(width * channels)
    for row, f in zip(rows, ftypes):
        raw += bytes([f]) + _filter(f, row, prior, channels)
        prior = row
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw))
            + _chunk(b"IEND", b""))


def _image(r: random.Random, width: int, height: int, channels: int) -> list[bytes]:
    """Noise, flat runs and repeated rows: what an SVG render has, and not."""
    rows: list[bytes] = []
    for y in range(height):
        if y % 4 == 3:
            rows.append(rows[-1])
        elif y % 4 == 2:
            px = bytes(r.randrange(256) for _ in range(channels))
            rows.append(px * width)
        else:
            rows.append(bytes(r.randrange(256) for _ in range(width * channels)))
    return rows


def _pixels(rows: list[bytes], channels: int) -> list[tuple[int, int, int, int]]:
    out = []
    for row in rows:
        for x in range(0, len(row), channels):
            out.append((row[x], row[x + 1], row[x + 2], row[x + 3] if channels == 4 else 255))
    return out


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("ftype", [0, 1, 2, 3, 4, -1])
def test_decoder_inverts_each_filter(ftype: int, channels: int) -> None:
    r = random.Random(ftype * 10 + channels)
    width, height = 37, 16
    rows = _image(r, width, height, channels)
    ftypes = [r.randrange(5) for _ in rows] if ftype == -1 else [ftype] * height
    w, h, pixels = read_png(_encode(width, rows, channels, ftypes))
    assert (w, h) == (width, height)
    assert pixels == _pixels(rows, channels)


@pytest.mark.parametrize("ftype", [1, 2, 3, 4])
def test_each_filter_is_told_apart(ftype: int) -> None:
    """Undoing a filter with another filter's inverse gives other bytes."""
    r = random.Random(ftype)
    prior = bytes(r.randrange(256) for _ in range(60))
    row = bytes(r.randrange(256) for _ in range(60))
    filtered = _filter(ftype, row, prior, 4)
    assert unfilter(ftype, filtered, prior, 4) == row
    for other in range(5):
        if other != ftype:
            assert unfilter(other, filtered, prior, 4) != row, other


def test_decoder_rejects_broken_pngs() -> None:
    rows = [bytes(range(12))] * 2
    good = _encode(4, rows, 3, [0, 2])
    assert read_png(good)[2] == _pixels(rows, 3)
    with pytest.raises(AssertionError):
        read_png(b"GIF89a" + good[6:])
    ihdr = struct.pack(">IIBBBBB", 4, 2, 8, 2, 0, 0, 0)
    raw = bytes([7]) + rows[0] + bytes([0]) + rows[1]
    bad_filter = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                  + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
    with pytest.raises(AssertionError, match="filter type 7"):
        read_png(bad_filter)
    short = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
             + _chunk(b"IDAT", zlib.compress(raw[:-1])) + _chunk(b"IEND", b""))
    with pytest.raises(AssertionError, match="does not match"):
        read_png(short)


def test_colours_are_the_pixels_colours() -> None:
    r = random.Random(5)
    rows = _image(r, 19, 12, 4)
    data = _encode(19, rows, 4, [r.randrange(5) for _ in rows])
    w, h, colours = png_colours(data)
    assert (w, h) == (19, 12)
    assert colours == {p[:3] for p in _pixels(rows, 4)}
