"""Search parameter definitions, FHIRPath-subset extraction and query parsing (no SQL here)."""
