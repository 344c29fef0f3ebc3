"""Input and output, the bottom layer: strict JSON, transcripts read with validation, the error
hierarchy (one root), atomic writes, locks, progress."""
