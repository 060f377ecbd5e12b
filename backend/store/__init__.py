"""Data access for the ETL: artwork upserts with crawl checkpoints and failures, and the status query."""
