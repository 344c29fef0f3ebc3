"""Attack prompts (C9-C11) and adaptive helper policies (C12-C14b)."""
