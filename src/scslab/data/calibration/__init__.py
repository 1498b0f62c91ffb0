"""Calibration figures shipped with scslab, each row with its source."""
