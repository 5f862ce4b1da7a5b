"""Together's v2 dedicated model inference API: the client and its models, the mapping between the bot's
endpoints and v2's endpoints and deployments, hardware ids, and the startup events feed."""
