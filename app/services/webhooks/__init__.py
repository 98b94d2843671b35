"""Outgoing webhooks: endpoints, the outbox, signing, the SSRF policy and sending, the event
types."""
