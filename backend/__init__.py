"""artsearch backend: settings, database, CLIP model, search API."""
