"""`ptdl verify` and `ptdl kernel setup`: the real kernel tree as ground truth.

Place in the flow: beside the generators, reading the resolved model and
the generated runtime module of each arch, and a Linux tree.

  kernel_setup.py  find or install the tree and the cross compilers
  karch.py         per kernel architecture: ARCH, compiler, protection_map
                   source, run-time values and the assumptions that fold them
  kbuild.py        cached, configured and prepared out-of-tree builds; compile
                   a probe there (kbuild once, then the saved compiler command)
  facts.py         the facts to compare: C expression, archdef value (through
                   generated/runtime/<arch>.py), defining line
  probe.py         render the probe C file (asm-offsets DEFINE) and parse the .s
  compare.py       run the probes, classify, located diagnostics, the table
  dropin.py        compile the generated header inside the kernel build
  checkpatch.py    the tree's scripts/checkpatch.pl over the generated headers
  cli.py           the `verify` and `kernel` subcommands
"""
