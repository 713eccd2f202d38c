"""Back ends: artefacts generated from resolved models.

Place in the flow: after a clean `ptdl check`.  Each backend is a pure
function of one dsl.model.Arch (and its archdef's path) returning text:
  pymod.py    -> generated/runtime/<arch>.py
  cheader.py  -> generated/kernel/arch/<arch>/include/asm/pgtable-range.h
  ctests.py   -> generated/tests/test_<arch>_conformance.py
writer.py renders everything in memory, then writes atomically (temp file
and rename); `--check` compares instead of writing.
"""
