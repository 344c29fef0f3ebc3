"""Input and output: configs and transcripts read with validation, the one error type, atomic writes, progress."""
