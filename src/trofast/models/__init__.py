"""Every table of Trofast; importing this package registers them all with `Base.metadata`."""

from trofast.kit.base import Base
from trofast.models.activity import Checkout, ProductView
from trofast.models.auth import ApiKey
from trofast.models.catalog import Product, Store
from trofast.models.customer import Consent, Customer, CustomerIdentity
from trofast.models.ingest import Delivery, Event, Source
from trofast.models.insight import AnalyticsFit, CustomerMetric
from trofast.models.ledger import LedgerAccount, LedgerLot, LedgerPosting, LedgerTransaction
from trofast.models.order import (
    Order,
    OrderLine,
    OrderStatusChange,
    Refund,
    RefundLine,
    Shipment,
)

__all__ = [
    "AnalyticsFit",
    "ApiKey",
    "Base",
    "Checkout",
    "Consent",
    "Customer",
    "CustomerIdentity",
    "CustomerMetric",
    "Delivery",
    "Event",
    "LedgerAccount",
    "LedgerLot",
    "LedgerPosting",
    "LedgerTransaction",
    "Order",
    "OrderLine",
    "OrderStatusChange",
    "Product",
    "ProductView",
    "Refund",
    "RefundLine",
    "Shipment",
    "Source",
    "Store",
]
