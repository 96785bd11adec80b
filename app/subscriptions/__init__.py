"""R4 Subscriptions: rest-hook delivery from a transactional outbox (docs/sync.md)."""
