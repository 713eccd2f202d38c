"""``ptdl explore``: a seeded search over sequences of kernel and user
actions on a small machine, checking the oracle after every step,
shrinking what it finds and writing it down as ``explored`` scenarios.

Place in the flow: ``dsl.explore.cli`` (the subcommand) drives
``search`` (generation, budget, progress) which runs sequences of
``actions`` on a ``world`` (one ``runtime.kernel.Kernel`` plus the
explorer's bookkeeping), checks ``invariants`` after each step, reduces
a failing sequence with ``shrink``, replays it on the generated C header
(``creplay``) and writes it out (``scenario``).
"""
