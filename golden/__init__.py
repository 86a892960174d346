"""Golden data: facts transcribed from the notebook and measured calibrations (JSON files)."""
