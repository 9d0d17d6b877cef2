"""Payment-provider webhooks: signature checks and parsers into Tenure's provider-neutral facts.

Each provider module (`stripe`, `razorpay`) verifies a delivery on its raw body and turns it
into a `ProviderEvent` (`model`); `tenure.services.provider_events` applies those, whoever
sent them. Nothing here touches AWS or the table.
"""
