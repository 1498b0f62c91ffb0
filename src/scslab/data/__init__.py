"""Package data: presets, calibration figures and census tables (see SOURCES.md)."""
