"""All search SQL: criteria, the paged main query, includes and compartments."""
