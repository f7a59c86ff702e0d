"""The bulk import joins two customers the same way a live event does."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.customer.helpers import ingest, upserted
from tests.imports.helpers import options, read
from trofast.imports.service import import_chunk
from trofast.models import Customer, CustomerIdentity, CustomerMerge, Order

CSV = """order_id,line_id,email,phone,created_at,sku,quantity,unit_price,currency
I-1,1,kari@example.no,+4791234567,2026-03-01T10:00:00Z,SKU-1,1,499.00,NOK
"""


def test_a_row_with_the_email_of_one_and_the_phone_of_another_merges_them(
    db_session: Session, tmp_path: Path
) -> None:
    [till] = ingest(db_session, upserted("till", phone="+4791234567"))
    [web] = ingest(db_session, upserted("web", email="kari@example.no"))
    path = tmp_path / "history.csv"
    path.write_text(CSV)
    opts = options()

    [result] = [import_chunk(db_session, chunk, opts.source) for chunk in read(path, opts)[1]]

    older, newer = till["customer_id"], web["customer_id"]
    assert result.customers_created == 0
    assert db_session.scalars(select(Order.customer_id)).all() == [older]
    assert db_session.scalars(select(Customer.id)).all() == [older]
    assert set(db_session.scalars(select(CustomerIdentity.customer_id))) == {older}
    [row] = db_session.scalars(select(CustomerMerge))
    assert (row.survivor_id, row.absorbed_id, row.status) == (older, newer, "merged")
