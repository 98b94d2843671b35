"""Entry points that own their transactions: the webhook delivery worker."""
