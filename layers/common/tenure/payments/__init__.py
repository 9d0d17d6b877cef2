"""Payment providers: the gateway port, its adapters (sandbox, Stripe) and the pacing of
calls toward the provider."""
