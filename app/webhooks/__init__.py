"""Webhooks: subscriptions by event type, deliveries signed per Standard Webhooks, retried in
order per record, with a delivery log and manual redelivery."""
