"""Readers of other billing systems' exports (Stripe objects, CSV tables) for `tenure import`."""
