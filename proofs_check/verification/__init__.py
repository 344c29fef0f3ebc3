"""The verification engine: the claim registry, methods V1-V8 and their building blocks, the runner and the
proof cache."""
