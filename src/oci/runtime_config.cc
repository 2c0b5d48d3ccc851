// Filled in by the OCI parsing work.
