"""Together's APIs as typed clients: the shared transport (`http`), v1 and v2 (`v1/`, `v2/`), choosing
between them (`backends`), the inference probe (`inference`) and a local simulator as a service (`local`)."""
