"""Profile validation: snapshots, cardinality, bindings, slicing and FHIRPath invariants."""
