"""Table registry: both sides' tables, the RMS↔POS mapping, match suggestions and drift."""
