"""The delivery engine: outbox, claims, retries, signing, endpoint health, replay."""
