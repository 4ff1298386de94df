"""HTTP API: the app factory, partner-facing routers and the admin API."""
