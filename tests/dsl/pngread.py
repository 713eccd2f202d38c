"""A minimal PNG decoder for the SVG render test (8-bit RGB/RGBA, no
interlace: what rsvg-convert writes), so the test checks real pixels
without another imaging dependency.

The None, Sub and Up filters are undone a row at a time with C-level
iterators (Sub: a running sum per channel, mod 256; Up: a bytewise sum of two
big integers without carries between bytes); Paeth likewise over runs where the row above is flat (there its
predictor is the left byte, as in Sub) and byte by byte elsewhere; Average
byte by byte.  tests/dsl/test_pngread.py checks every filter against pixels
encoded independently."""

from __future__ import annotations

import struct
import zlib
from itertools import accumulate, repeat

_LOW = (255).__and__          # x -> x & 0xFF, as a C-level callable


def _masks(n: int) -> tuple[int, int]:
    """(0x7f7f..., 0x8080...) over n bytes."""
    m = _MASKS.get(n)
    if m is None:
        m = _MASKS[n] = (int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big"))
    return m


_MASKS: dict[int, tuple[int, int]] = {}


def _add_bytes(x: bytes, y: bytes) -> bytes:
    """(x[i] + y[i]) & 0xFF for every i, on two big integers: the low 7 bits
    of each byte add without carrying out of the byte, the top bits by xor."""
    n = len(x)
    low, high = _masks(n)
    a = int.from_bytes(x, "big")
    b = int.from_bytes(y, "big")
    return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(n, "big")


def _sub(line: bytes, channels: int) -> bytearray:
    out = bytearray(len(line))
    for ch in range(channels):
        out[ch::channels] = bytes(map(_LOW, accumulate(line[ch::channels])))
    return out


def _avg(line: bytes, prev: bytes, channels: int) -> bytearray:
    out = bytearray(line)
    for x in range(len(out)):
        a = out[x - channels] if x >= channels else 0
        out[x] = (out[x] + ((a + prev[x]) >> 1)) & 0xFF
    return out


_NONZERO = bytes([0] + [1] * 255)     # translate table: byte -> (byte != 0)
_FLAT_RUN = bytes(32)                 # a stretch worth a run: 32 bytes with b == c


def _paeth(line: bytes, prev: bytes, channels: int) -> bytearray:
    out = bytearray(line)
    n = len(out)
    for x in range(min(channels, n)):         # a = c = 0: the predictor is b
        out[x] = (out[x] + prev[x]) & 0xFF
    if n <= channels:
        return out
    # Where the row above is flat (b == c), |p - a| = |b - c| = 0 and the
    # predictor is a: the Sub recurrence, done a run at a time for stretches
    # of 32 bytes or more.  Elsewhere byte by byte.  neq[x - channels] says
    # b != c at x.
    xor = int.from_bytes(prev[channels:], "big") ^ int.from_bytes(prev[:-channels], "big")
    neq = xor.to_bytes(n - channels, "big").translate(_NONZERO)
    x = channels
    while x < n:
        j = neq.find(_FLAT_RUN, x - channels)         # the next long flat stretch
        run = n if j < 0 else j + channels
        for x in range(x, run):                       # byte by byte up to it
            a = out[x - channels]
            b = prev[x]
            c = prev[x - channels]
            pa = b - c if b >= c else c - b          # |p - a| with p = a + b - c
            pb = a - c if a >= c else c - a          # |p - b|
            pc = a + b - c - c
            if pc < 0:
                pc = -pc                             # |p - c|
            out[x] = (out[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 0xFF
        if j < 0:
            break
        k = neq.find(1, j)
        stop = n if k < 0 else k + channels
        for lane in range(channels):                  # run .. stop-1: b == c
            s = run + lane
            out[s:stop:channels] = bytes(map(_LOW, accumulate(
                line[s:stop:channels], initial=out[s - channels])))[1:]
        x = stop
    return out


def unfilter(ftype: int, line: bytes, prev: bytes, channels: int) -> bytes:
    """One scanline with its filter (PNG spec section 9) undone."""
    if ftype == 0:
        return bytes(line)
    if ftype == 1:
        return bytes(_sub(line, channels))
    if ftype == 2:
        return _add_bytes(line, prev)
    if ftype == 3:
        return bytes(_avg(line, prev, channels))
    if ftype == 4:
        return bytes(_paeth(line, prev, channels))
    raise AssertionError(f"bad PNG filter type {ftype}")


def decode(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, channels, the unfiltered scanlines)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos = 8
    idat = b""
    width = height = 0
    channels = 4
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (2, 6), (depth, ctype, interlace)
            channels = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    assert len(raw) == height * (stride + 1), "PNG data does not match its header"
    prev = bytes(stride)
    rows: list[bytes] = []
    i = 0
    for _ in range(height):
        line = unfilter(raw[i], raw[i + 1:i + 1 + stride], prev, channels)
        i += 1 + stride
        rows.append(line)
        prev = line
    return width, height, channels, rows


def read_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """(width, height, RGBA pixels row-major)."""
    width, height, channels, rows = decode(data)
    pixels: list[tuple[int, int, int, int]] = []
    for line in rows:
        alpha = line[3::4] if channels == 4 else repeat(255, width)
        pixels.extend(zip(line[0::channels], line[1::channels], line[2::channels], alpha))
    return width, height, pixels


def png_colours(data: bytes) -> tuple[int, int, set[tuple[int, int, int]]]:
    """(width, height, the set of RGB colours of its pixels)."""
    width, height, channels, rows = decode(data)
    colours: set[tuple[int, int, int]] = set()
    for line in set(rows):
        colours.update(zip(line[0::channels], line[1::channels], line[2::channels]))
    return width, height, colours
