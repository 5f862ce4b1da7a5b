"""An offline stand-in for Together's v1 and v2 dedicated-endpoint APIs (tests, `bot shell`, `bot simulator`).

`core.TogetherSimulator` answers one request at a time for both APIs (`v1.api.V1Simulator` and
`v2.api.V2Simulator`), which share its clock (`clock`), fault injection and latency (`faults`) and request
log; `server` serves it over HTTP or plugs it into httpx; `catalog` and `inference` are the models,
hardware and chat completions both APIs serve.
"""
