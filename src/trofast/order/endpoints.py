from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.customer.service import CustomerNotFound
from trofast.deps import SessionDep
from trofast.kit.nul import NO_NUL
from trofast.models import Customer
from trofast.order import repository, service
from trofast.order.errors import OrderNotFound
from trofast.order.schemas import (
    LineOut,
    LinkCustomer,
    OrderDetail,
    OrderOut,
    RefundLineOut,
    RefundOut,
    ShipmentOut,
    StatusChangeOut,
)

router = APIRouter(prefix="/v1/orders", tags=["orders"])
OrderId = Annotated[int, Path(ge=1, le=2**53)]


@router.get(
    "",
    response_model=list[OrderOut],
    responses=AUTH_RESPONSES,
    summary="List orders, by customer or by the source's order id",
)
def list_orders(
    session: SessionDep,
    _key: AdminKey,
    customer_id: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    external_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int, Query(ge=0, le=2**53)] = 0,
) -> list[OrderOut]:
    rows = repository.search(
        session, customer_id=customer_id, external_id=external_id, limit=limit, after_id=after
    )
    return [OrderOut.model_validate(row, from_attributes=True) for row in rows]


def _detail(session: SessionDep, order_id: int) -> OrderDetail:
    order = repository.get(session, order_id)
    if order is None or order.snapshot_at is None:
        raise OrderNotFound(f"no order {order_id}")
    base = OrderOut.model_validate(order, from_attributes=True)
    return OrderDetail(
        **base.model_dump(),
        lines=[
            LineOut.model_validate(r, from_attributes=True)
            for r in repository.lines(session, order_id)
        ],
        status_history=[
            StatusChangeOut.model_validate(r, from_attributes=True)
            for r in repository.status_history(session, order_id)
        ],
        refunds=[
            RefundOut(
                id=refund.id,
                external_id=refund.external_id,
                amount_minor=refund.amount_minor,
                shipping_minor=refund.shipping_minor,
                reason=refund.reason,
                occurred_at=refund.occurred_at,
                lines=[RefundLineOut.model_validate(r, from_attributes=True) for r in lines],
            )
            for refund, lines in repository.refunds(session, order_id)
        ],
        shipments=[
            ShipmentOut.model_validate(r, from_attributes=True)
            for r in repository.shipments(session, order_id)
        ],
    )


@router.get(
    "/{order_id}",
    response_model=OrderDetail,
    responses={**AUTH_RESPONSES, 404: {"description": "order_not_found"}},
    summary="An order with lines, status history, refunds and deliveries",
)
def get_order(order_id: OrderId, session: SessionDep, _key: AdminKey) -> OrderDetail:
    return _detail(session, order_id)


@router.put(
    "/{order_id}/customer",
    response_model=OrderDetail,
    responses={
        **AUTH_RESPONSES,
        404: {"description": "order_not_found or customer_not_found"},
    },
    summary="Link a guest order to a customer",
)
def link_customer(
    order_id: OrderId, body: LinkCustomer, session: SessionDep, _key: AdminKey
) -> OrderDetail:
    order = repository.get(session, order_id)
    if order is None or order.snapshot_at is None:
        raise OrderNotFound(f"no order {order_id}")
    if session.get(Customer, body.customer_id) is None:
        raise CustomerNotFound(f"no customer {body.customer_id}")
    service.link_customer(session, order, body.customer_id)
    return _detail(session, order_id)
