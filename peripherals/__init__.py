"""Circuit models of the chip estimator, one module per circuit (see base.py for the
shared interface and units)."""
