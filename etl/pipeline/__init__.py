"""The embedding pipeline: claim → download → decode → embed → write, overlapping stages in worker processes."""
