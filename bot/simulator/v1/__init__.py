"""The v1 half of the simulator: the API in memory (`api`) and its wire format (`wire`)."""
