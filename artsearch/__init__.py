"""The composition root: the one package that imports both layers, backend/ (data, model, API) and etl/."""
