"""The FastAPI service: thin routes over the store, the CLIP text/vision towers and the current map."""
