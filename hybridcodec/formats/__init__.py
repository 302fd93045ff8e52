"""File and stream formats: .hcb files, packet streams, whole-file streaming, audio I/O.
Imports core, never tools, research or training."""
