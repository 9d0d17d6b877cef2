"""The functions run in-process: invocation, the local HTTP server, the outbox, state."""
