"""Event names the simulator emits (canonical snake_case), aligned with the default journey.

Segment ``track`` names are the title-cased form (``order_completed`` -> ``Order
Completed``), which ``schemas.events.normalise_event_type`` maps back.
"""

from __future__ import annotations

IDENTIFY = "identified"
PAGE_VIEWED = "page_viewed"
SIGNED_UP = "signed_up"
LOGGED_IN = "login"  # the default journey's activity matcher
KEY_ACTION = "key_action"
PURCHASE = "order_completed"
DELIVERY_FAILED = "delivery_failed"
REFUND_ISSUED = "refund_issued"
TRIAL_STARTED = "trial_started"
TRIAL_ENDED = "trial_ended"
SUBSCRIPTION_STARTED = "subscription_started"
SUBSCRIPTION_RENEWED = "subscription_renewed"
SUBSCRIPTION_CANCELLED = "subscription_cancelled"
PAYMENT_FAILED = "payment_failed"
ACCOUNT_CLOSED = "account_closed"
TICKET_OPENED = "support_ticket_opened"
TICKET_CLOSED = "support_ticket_closed"
CSAT = "csat_submitted"
NPS = "nps_submitted"
FEATURE_REQUESTED = "feature_requested"
FEATURE_RELEASED = "feature_released"

# Who announces a feature release (a product-team source, not a customer).
RELEASE_SOURCE_ID = "product-team"
