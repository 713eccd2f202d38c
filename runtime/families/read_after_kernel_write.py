"""Family ``read_after_kernel_write``: as exec_after_kernel_write (whose
module holds the shared body), with user reads -> ``stale_data``.

Place in the flow: registered in runtime/conformance.py.
"""

from __future__ import annotations

from runtime.families.base import Family, Run
from runtime.families.exec_after_kernel_write import kernel_write
from runtime.scenarios import Scenario


class ReadAfterKernelWrite(Family):
    def run(self, run: Run, sc: Scenario) -> None:
        kernel_write(run, sc, False)


FAMILY: Family = ReadAfterKernelWrite("read_after_kernel_write")
