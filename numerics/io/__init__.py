"""Input and output: configs and transcripts read with validation, the error hierarchy (one root), atomic writes, locks, progress."""
