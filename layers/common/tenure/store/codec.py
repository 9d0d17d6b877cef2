"""How Tenure's data is written to DynamoDB and read back: entities to and from plain
attribute maps, and plain maps to and from DynamoDB's typed attribute values (ints stay
ints). No key shapes here: see dynamodb.py.

The codecs are kept by entity family: codec_values.py (times, typed values), codec_customers.py,
codec_catalog.py, codec_billing.py, codec_cases.py and codec_notices.py. This module names
them all, as `codec.X` or `from tenure.store.codec import X`."""

from tenure.store.codec_billing import (
    charge_from_attrs,
    charge_to_attrs,
    credit_note_from_attrs,
    credit_note_to_attrs,
    invoice_from_attrs,
    invoice_to_attrs,
    refund_from_attrs,
    refund_to_attrs,
    subscription_from_attrs,
    subscription_to_attrs,
)
from tenure.store.codec_cases import (
    collection_case_from_attrs,
    collection_case_to_attrs,
    installment_plan_from_attrs,
    installment_plan_to_attrs,
    save_attempt_from_attrs,
    save_attempt_to_attrs,
)
from tenure.store.codec_catalog import (
    coupon_from_attrs,
    coupon_to_attrs,
    plan_from_attrs,
    plan_to_attrs,
    price_run_from_attrs,
    price_run_to_attrs,
    programs_from_attrs,
    programs_to_attrs,
)
from tenure.store.codec_customers import (
    contact_from_attrs,
    contact_to_attrs,
    customer_from_attrs,
    customer_to_attrs,
    payment_method_from_attrs,
    payment_method_to_attrs,
)
from tenure.store.codec_notices import (
    audit_from_attrs,
    audit_to_attrs,
    notice_from_attrs,
    notice_to_attrs,
)
from tenure.store.codec_values import (
    from_item,
    to_item,
)

__all__ = [
    "audit_from_attrs",
    "audit_to_attrs",
    "charge_from_attrs",
    "charge_to_attrs",
    "collection_case_from_attrs",
    "collection_case_to_attrs",
    "contact_from_attrs",
    "contact_to_attrs",
    "coupon_from_attrs",
    "coupon_to_attrs",
    "credit_note_from_attrs",
    "credit_note_to_attrs",
    "customer_from_attrs",
    "customer_to_attrs",
    "from_item",
    "installment_plan_from_attrs",
    "installment_plan_to_attrs",
    "invoice_from_attrs",
    "invoice_to_attrs",
    "notice_from_attrs",
    "notice_to_attrs",
    "payment_method_from_attrs",
    "payment_method_to_attrs",
    "plan_from_attrs",
    "plan_to_attrs",
    "price_run_from_attrs",
    "price_run_to_attrs",
    "programs_from_attrs",
    "programs_to_attrs",
    "refund_from_attrs",
    "refund_to_attrs",
    "save_attempt_from_attrs",
    "save_attempt_to_attrs",
    "subscription_from_attrs",
    "subscription_to_attrs",
    "to_item",
]
