"""Telephony webhooks (SPEC C1-C12, T5): the provider's side of a call."""
