"""Together's v1 dedicated-endpoint API: the client (`client`) and the objects it reads (`models`)."""
