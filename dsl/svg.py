"""Backend: `ptdl show ARCH --svg FILE` — the PTE layout as an SVG diagram.

Place in the flow: a pure function of dsl.model.Arch (like dsl/show.py,
which draws the same layout in text).  The word is drawn 32 bits per row,
most significant bit first; every field is a box over its bits, filled
with its role's colour (dsl/palette.py), named inside and with its bit
range above.  An inverted field (set means "not ROLE") is hatched and its
name carries an overline and a leading '¬'.  The parts of a split PFN are
linked by a dashed connector and labelled with the PFN bits they hold.
Fields sharing bits (`overlaps`) are drawn as a lower band.  A legend
lists the roles used.  Deterministic output (no timestamps, stable order).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from .model import Arch, Field
from .palette import EMPTY_BIT, fill

BIT_W = 26          # one bit
ROW_H = 56          # one field box
BAND_H = 18         # the band of an overlapping field
ROW_GAP = 54        # bit numbers, ranges, PFN labels
MARGIN = 16
BITS_PER_ROW = 32
LEGEND_ROW = 20


def _segments(f: Field, word: int) -> list[tuple[int, int, int]]:
    """(row, first bit, last bit) pieces of f, clipped to the word."""
    out: list[tuple[int, int, int]] = []
    lo, hi = max(0, f.lo), min(word - 1, f.hi)
    rows = (word + BITS_PER_ROW - 1) // BITS_PER_ROW
    for r in range(rows):
        top = word - 1 - r * BITS_PER_ROW
        bot = max(0, top - BITS_PER_ROW + 1)
        a, b = max(lo, bot), min(hi, top)
        if a <= b:
            out.append((r, a, b))
    return out


def _x(bit: int, word: int) -> int:
    """Left edge of bit's cell in its row."""
    col = (word - 1 - bit) % BITS_PER_ROW
    return MARGIN + col * BIT_W


def _row_y(r: int) -> int:
    return MARGIN + 34 + r * (ROW_H + ROW_GAP)


def size(a: Arch) -> tuple[int, int]:
    """(width, height) of the SVG, in px."""
    rows = (a.word_bits + BITS_PER_ROW - 1) // BITS_PER_ROW
    roles = _roles(a)
    legend = LEGEND_ROW * ((len(roles) + 3) // 4 + 2)
    return (2 * MARGIN + BITS_PER_ROW * BIT_W,
            _row_y(rows) - ROW_GAP + 40 + legend + MARGIN)


def _roles(a: Arch) -> list[str]:
    seen: list[str] = []
    for f in sorted(a.fields, key=lambda f: -f.hi):
        r = f.role or "(no role)"
        if r not in seen:
            seen.append(r)
    return seen


def _lane(a: Arch) -> dict[str, int]:
    """0: full box; 1: band (the field shares bits with one drawn before)."""
    lane: dict[str, int] = {}
    taken = 0
    for f in sorted(a.fields, key=lambda f: (f.lo, f.hi, f.name)):
        m = f.mask & ((1 << a.word_bits) - 1) if f.lo >= 0 and f.lo <= f.hi else 0
        lane[f.name] = 1 if m & taken else 0
        if lane[f.name] == 0:
            taken |= m
    return lane


def render_svg(a: Arch) -> str:
    w, h = size(a)
    word = a.word_bits
    rows = (word + BITS_PER_ROW - 1) // BITS_PER_ROW
    lane = _lane(a)
    o: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="DejaVu Sans, sans-serif" font-size="11">',
        f"<title>{escape(a.name)}: {word}-bit PTE layout</title>",
        "<defs>",
        '<pattern id="inverted" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" '
        'stroke="#000000" stroke-width="1.2" stroke-opacity="0.45"/></pattern>',
        "</defs>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 10}" font-size="14" font-weight="bold">'
        f"{escape(a.name)}: {word}-bit PTE, {a.page_size // 1024} KiB pages, "
        f"PFN_PTE_SHIFT {a.pfn_pte_shift}</text>",
    ]
    # empty cells and bit numbers
    for r in range(rows):
        y = _row_y(r)
        top = word - 1 - r * BITS_PER_ROW
        for bit in range(top, max(-1, top - BITS_PER_ROW), -1):
            x = _x(bit, word)
            o.append(f'<rect x="{x}" y="{y}" width="{BIT_W}" height="{ROW_H}" '
                     f'fill="{EMPTY_BIT}" stroke="#9e9e9e" stroke-width="0.5"/>')
            o.append(f'<text x="{x + BIT_W / 2}" y="{y - 4}" text-anchor="middle" '
                     f'font-size="9" fill="#616161">{bit}</text>')
    pfn_parts: list[tuple[Field, int, int, int, int, int]] = []   # field, row, x, y, lo, hi
    for f in sorted(a.fields, key=lambda f: (lane[f.name], -f.hi, f.name)):
        band = lane[f.name] == 1
        for r, lo, hi in _segments(f, word):
            x = _x(hi, word)
            width = (hi - lo + 1) * BIT_W
            y = _row_y(r) + (ROW_H - BAND_H if band else 0)
            hh = BAND_H if band else ROW_H
            cls = f"field role-{f.role or 'none'}"
            o.append(f'<g class="{cls}" id="field-{escape(f.name)}-{r}">')
            o.append(f'<rect x="{x}" y="{y}" width="{width}" height="{hh}" '
                     f'fill="{fill(f.role)}" stroke="#212121" stroke-width="1"/>')
            if f.inverted:
                o.append(f'<rect x="{x}" y="{y}" width="{width}" height="{hh}" '
                         'fill="url(#inverted)" stroke="none"/>')
            name = ("¬" if f.inverted else "") + f.name
            deco = ' text-decoration="overline"' if f.inverted else ""
            rng = str(lo) if lo == hi else f"{hi}..{lo}"
            o.append(f"<title>{escape(f.name)} {rng}: {escape(f.role or 'no role')}"
                     f"{' (inverted)' if f.inverted else ''}</title>")
            cx = x + width / 2
            if band:
                o.append(f'<text x="{cx}" y="{y + hh / 2 + 4}" text-anchor="middle" '
                         f'font-size="9"{deco}>{escape(name[: max(1, int(width / 5.5))])}</text>')
            elif len(name) * 6.5 < width - 2:
                o.append(f'<text x="{cx}" y="{y + 22}" text-anchor="middle"{deco}>'
                         f"{escape(name)}</text>")
                role = (f.role or "") + (" inv" if f.inverted else "")
                if len(role) * 5.5 < width:
                    o.append(f'<text x="{cx}" y="{y + 38}" text-anchor="middle" '
                             f'font-size="9" fill="#212121">{escape(role)}</text>')
                if len(rng) * 5.5 < width:
                    o.append(f'<text x="{cx}" y="{y + 51}" text-anchor="middle" '
                             f'font-size="8" fill="#424242">{rng}</text>')
            else:   # narrow: the name runs upwards inside the box
                cy = y + hh / 2
                o.append(f'<text x="{cx + 3}" y="{cy}" text-anchor="middle" font-size="9" '
                         f'transform="rotate(-90 {cx} {cy})"{deco}>{escape(name[:9])}</text>')
            o.append("</g>")
            if f.role == "pfn":
                pfn_parts.append((f, r, x + width // 2, _row_y(r) + ROW_H, lo, hi))
    # split PFN: label each part with the PFN bits it holds, link them
    pfn_fields = {id(p[0]) for p in pfn_parts}
    if len(pfn_fields) > 1:
        pfn_parts.sort(key=lambda p: (p[0].pfn_offset, p[4]))
        for f, r, cx, yb, lo, hi in pfn_parts:
            first = f.pfn_offset + lo - f.lo
            o.append(f'<text x="{cx}" y="{yb + 14}" text-anchor="middle" font-size="9" '
                     f'fill="#0d47a1" class="pfn-part">PFN bits {first}..'
                     f"{first + hi - lo}</text>")
        for (f1, _, x1, y1, _, _), (f2, _, x2, y2, _, _) in zip(pfn_parts, pfn_parts[1:]):
            if f1 is f2:
                continue
            mid = max(y1, y2) + 32
            o.append(f'<path class="pfn-link" d="M {x1} {y1 + 18} C {x1} {mid}, {x2} {mid}, '
                     f'{x2} {y2 + 18}" fill="none" stroke="#0d47a1" stroke-width="1.5" '
                     'stroke-dasharray="5,3"/>')
    # legend
    y = _row_y(rows) - ROW_GAP + 40
    o.append(f'<text x="{MARGIN}" y="{y}" font-weight="bold">roles</text>')
    for i, role in enumerate(_roles(a)):
        lx = MARGIN + (i % 4) * (BITS_PER_ROW * BIT_W // 4)
        ly = y + 8 + (i // 4) * LEGEND_ROW
        o.append(f'<rect x="{lx}" y="{ly}" width="14" height="14" '
                 f'fill="{fill(None if role == "(no role)" else role)}" stroke="#212121"/>')
        o.append(f'<text x="{lx + 20}" y="{ly + 11}">{escape(role)}</text>')
    ly = y + 8 + ((len(_roles(a)) + 3) // 4) * LEGEND_ROW
    o.append(f'<rect x="{MARGIN}" y="{ly}" width="14" height="14" fill="url(#inverted)" '
             'stroke="#212121"/>')
    o.append(f'<text x="{MARGIN + 20}" y="{ly + 11}">¬ inverted: set means not ROLE</text>')
    o.append(f'<path d="M {MARGIN + 240} {ly + 7} h 30" stroke="#0d47a1" stroke-width="1.5" '
             'stroke-dasharray="5,3"/>')
    o.append(f'<text x="{MARGIN + 276}" y="{ly + 11}">parts of a split PFN</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"
