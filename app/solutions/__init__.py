"""Solutions: the knowledge base (articles, categories, full-text search, suggestions)."""
