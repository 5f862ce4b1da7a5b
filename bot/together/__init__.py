"""Together's APIs as typed clients: the shared transport (`http`), v1 and v2 (`v1/`, `v2/`), choosing
between them (`backends`) and the inference probe (`inference`). The simulator of both is `bot.simulator`."""
