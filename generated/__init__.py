"""Output of `ptdl generate`: committed, never edited by hand."""
