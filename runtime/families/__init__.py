"""Conformance scenario families, one module each (the registry is
``runtime.conformance.FAMILY_REGISTRY``).

Place in the flow: ``runtime.conformance.run`` looks up the scenario's
family and calls its ``run``; each family builds its fixture (machines,
files, VMAs) once per parameter combination and then runs small named
checks on it, reporting through ``runtime.families.base.Run``.
"""
