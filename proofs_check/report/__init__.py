"""What verify and derive write: tables, JSON and Markdown, LaTeX, figures, statements and provenance."""
