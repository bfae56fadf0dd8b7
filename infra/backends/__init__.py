"""Systems under test that the ecosystem can start, one self-contained package each."""
