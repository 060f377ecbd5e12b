"""artsearch ETL: museum sources, the crawler and the embedding pipeline."""
