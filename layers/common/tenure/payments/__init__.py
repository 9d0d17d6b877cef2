"""Payment providers: the gateway port, the sandbox and (later) the Stripe adapter."""
