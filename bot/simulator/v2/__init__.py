"""The v2 half of the simulator: routes (`api`), their JSON (`views`), the catalogue and identity
routes (`public`), state (`state`), the events feed (`events`), catalogue data (`catalog`), wire rules (`wire`)."""
