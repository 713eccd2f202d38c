"""Generated arch modules (mypyc-compiled by `ptdl build`)."""
