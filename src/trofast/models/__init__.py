"""Every table of Trofast; importing this package registers them all with `Base.metadata`."""

from trofast.kit.base import Base
from trofast.models.activity import Checkout, ProductView
from trofast.models.auth import ApiKey
from trofast.models.catalog import Product, Store
from trofast.models.coupon import Coupon, CouponCustomerUse, CouponRedemption
from trofast.models.customer import Consent, Customer, CustomerIdentity, CustomerMerge
from trofast.models.ingest import Delivery, Event, Source
from trofast.models.insight import AnalyticsFit, CustomerMetric
from trofast.models.ledger import LedgerAccount, LedgerLot, LedgerPosting, LedgerTransaction
from trofast.models.member import ReceiptClaim
from trofast.models.order import (
    Order,
    OrderLine,
    OrderStatusChange,
    Refund,
    RefundLine,
    Shipment,
)
from trofast.models.program import (
    EarningLine,
    MemberTier,
    OrderEarning,
    ProgrammeVersion,
    RuleBudget,
    TierChange,
)
from trofast.models.referral import OrderSignal, Referral, ReferralCode, ReferralWeek
from trofast.models.reward import PointsPayment, RewardMemberUse, RewardRedemption, RewardStock

__all__ = [
    "AnalyticsFit",
    "ApiKey",
    "Base",
    "Checkout",
    "Consent",
    "Coupon",
    "CouponCustomerUse",
    "CouponRedemption",
    "Customer",
    "CustomerIdentity",
    "CustomerMerge",
    "CustomerMetric",
    "Delivery",
    "EarningLine",
    "Event",
    "LedgerAccount",
    "LedgerLot",
    "LedgerPosting",
    "LedgerTransaction",
    "MemberTier",
    "Order",
    "OrderEarning",
    "OrderLine",
    "OrderSignal",
    "OrderStatusChange",
    "PointsPayment",
    "Product",
    "ProductView",
    "ProgrammeVersion",
    "ReceiptClaim",
    "Referral",
    "ReferralCode",
    "ReferralWeek",
    "Refund",
    "RefundLine",
    "RewardMemberUse",
    "RewardRedemption",
    "RewardStock",
    "RuleBudget",
    "Shipment",
    "Source",
    "Store",
    "TierChange",
]
