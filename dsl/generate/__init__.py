"""Back ends: artefacts generated from resolved models.

Place in the flow: after a clean `ptdl check`.  backends.py is the explicit
registry; each backend is a pure function of one dsl.model.Arch (and its
archdef's path) that builds a typed view and renders a Jinja template of
dsl/templates/ (templating.py holds the environment and filters):
  pymod.py    -> generated/runtime/<arch>.py             (py/module.py.j2)
  cheader.py  -> generated/kernel/arch/<arch>/include/asm/pgtable-range.h
                                                          (c/header.h.j2)
  ctests.py   -> generated/tests/test_<arch>_conformance.py
                                                          (tests/conformance.py.j2)
pywriter.py and cwriter.py are the code writers of the call bodies;
view.py holds the banner/marker shared by all three, layout.py the layout
data (PFN mask, vm_get_page_prot) computed once; expect.py is the
independent interpreter behind the generated tests' expected events, with
encode.py (its PTE encoder) and scenarios.py (the scenario files).  writer.py renders
everything in memory, then writes atomically (temp file and rename);
`--check` compares instead of writing.
"""
