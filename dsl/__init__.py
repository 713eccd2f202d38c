"""ptdl: the archdef language (front end) and its generators (back ends).

Flow: parse.py (text -> syntax) -> resolve.py (inheritance, defaults ->
model.py) -> check.py (diagnostics) -> backends (export.py, show.py,
generate/).  The front end knows nothing of the backends.
"""

__version__ = "0.2.0"
