"""Generic PTE layout codec, built only from an arch's ``fields`` data.

Place in the flow: the oracle's independent reference. ``Arch`` may use it
for its default helpers, but the generated modules provide their own
specialised ``pfn_pte``/``pte_pfn``; the oracle never calls those: it
recomputes ``pfn_pte(pfn + i, prot)`` here from the field list (name, bit
range, role, polarity, pfn_offset), so a wrong generated helper or a wrong
store-loop advance shows up as a ``pte_value`` violation.

A field's role is "on" when any of its bits is set (all clear when the
field is ``inverted``).  PFN fields may be split: the field at ``lo..hi``
holds PFN bits ``pfn_offset .. pfn_offset + (hi - lo)``.
"""

from __future__ import annotations

from typing import Protocol, Sequence


class FieldLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def lo(self) -> int: ...
    @property
    def hi(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def inverted(self) -> bool: ...
    @property
    def pfn_offset(self) -> int: ...


class Layout:
    """Masks and PFN placement derived from a field list."""

    word_bits: int
    word_mask: int
    pfn_mask: int
    # (lo, width, pfn_offset) per PFN field
    pfn_parts: list[tuple[int, int, int]]
    pfn_width: int
    role_mask: dict[str, int]
    role_inverted: dict[str, bool]

    def __init__(self, fields: Sequence[FieldLike], word_bits: int) -> None:
        self.word_bits = word_bits
        self.word_mask = (1 << word_bits) - 1
        self.pfn_mask = 0
        self.pfn_parts = []
        self.pfn_width = 0
        self.role_mask = {}
        self.role_inverted = {}
        for f in fields:
            width = f.hi - f.lo + 1
            mask = ((1 << width) - 1) << f.lo
            if f.role == "pfn":
                self.pfn_mask |= mask
                self.pfn_parts.append((f.lo, width, f.pfn_offset))
                self.pfn_width = max(self.pfn_width, f.pfn_offset + width)
            elif f.role != "":
                self.role_mask[f.role] = self.role_mask.get(f.role, 0) | mask
                self.role_inverted[f.role] = f.inverted

    def has_role(self, role: str) -> bool:
        return role in self.role_mask

    def test(self, val: int, role: str) -> bool:
        """Is ``role`` on in ``val``?  A role the layout lacks is off."""
        mask = self.role_mask.get(role, 0)
        if mask == 0:
            return False
        if self.role_inverted[role]:
            return (val & mask) == 0
        return (val & mask) != 0

    def with_role(self, val: int, role: str, on: bool) -> int:
        """``val`` with ``role`` switched on/off (unchanged if absent)."""
        mask = self.role_mask.get(role, 0)
        if mask == 0:
            return val
        if self.role_inverted[role]:
            on = not on
        if on:
            return (val | mask) & self.word_mask
        return val & ~mask & self.word_mask

    def pfn_of(self, val: int) -> int:
        pfn = 0
        for lo, width, off in self.pfn_parts:
            pfn |= ((val >> lo) & ((1 << width) - 1)) << off
        return pfn

    def pfn_bits(self, pfn: int) -> int:
        """The PFN placed into its field(s); bits beyond the fields drop."""
        val = 0
        for lo, width, off in self.pfn_parts:
            val |= ((pfn >> off) & ((1 << width) - 1)) << lo
        return val

    def fits(self, pfn: int) -> bool:
        return 0 <= pfn < (1 << self.pfn_width)

    def pfn_pte(self, pfn: int, prot: int) -> int:
        """The reference ``pfn_pte``: prot's non-PFN bits plus the PFN."""
        return ((prot & ~self.pfn_mask) & self.word_mask) | self.pfn_bits(pfn)

    def prot_of(self, val: int) -> int:
        return val & ~self.pfn_mask & self.word_mask
