"""Inbound ticketing: integrations, provider signatures and payloads, what a delivery does."""
