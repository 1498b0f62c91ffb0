"""Presets shipped with scslab: one TOML scenario per file."""
