"""`verify` finds each kind of damage, and the CLI exits non-zero on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.ledger.conftest import T0, new_member
from tests.support.cli import flat
from trofast.cli.main import app
from trofast.config import get_settings
from trofast.db import build_engine, build_sessionmaker, unit_of_work
from trofast.ledger import service
from trofast.ledger.verify import verify
from trofast.migrate import upgrade
from trofast.models import LedgerAccount, LedgerLot, LedgerPosting


def account(session: Session, name: str) -> int:
    found = session.scalar(select(LedgerAccount.id).where(LedgerAccount.name == name))
    assert found is not None
    return found


def a_ledger(session: Session) -> tuple[int, int]:
    member = new_member(session)
    service.earn(session, member, "e1", 100, now=T0)
    service.earn(session, member, "e2", 40, available_at=T0.replace(year=2099), now=T0)
    spent = service.spend(session, member, "s1", 30, now=T0)
    return member, spent.transaction_id


def post(
    session: Session, transaction_id: int, account_id: int, amount: int, lot: int | None
) -> None:
    session.execute(
        insert(LedgerPosting).values(
            transaction_id=transaction_id, account_id=account_id, amount=amount, lot_id=lot
        )
    )


def shrink_a_lot(s: Session, member: int, tx: int) -> None:
    s.execute(update(LedgerLot).where(LedgerLot.points == 100).values(remaining=69))


def unbalance(s: Session, member: int, tx: int) -> None:
    post(s, tx, account(s, "system:redeemed"), 1, None)


def overdraw(s: Session, member: int, tx: int) -> None:
    post(s, tx, account(s, f"member:{member}:available"), -100, None)
    post(s, tx, account(s, "system:redeemed"), 100, None)


def pending_without_lot(s: Session, member: int, tx: int) -> None:
    post(s, tx, account(s, f"member:{member}:pending"), 5, None)
    post(s, tx, account(s, "system:issued"), -5, None)


def post_to_another_member(s: Session, member: int, tx: int) -> None:
    other = new_member(s, "kari@example.no")
    service.earn(s, other, "o1", 1, now=T0)
    post(s, tx, account(s, f"member:{other}:available"), 1, None)
    post(s, tx, account(s, "system:issued"), -1, None)


def settle_without_postings(s: Session, member: int, tx: int) -> None:
    # The pending lot says "available" while its points still sit in `pending`.
    s.execute(update(LedgerLot).where(LedgerLot.state == "pending").values(state="available"))


def give_a_lot_away(s: Session, member: int, tx: int) -> None:
    other = new_member(s, "ola@example.no")
    s.execute(update(LedgerLot).where(LedgerLot.points == 40).values(customer_id=other))


# A lot's remaining outside 0..points is refused by a CHECK constraint before verify sees it.
DAMAGE: dict[str, tuple[Callable[[Session, int, int], None], set[str]]] = {
    "lot_remaining_mismatch": (shrink_a_lot, {"lot_remaining_mismatch"}),
    "unbalanced_transaction": (unbalance, {"unbalanced_transaction"}),
    "negative_available": (overdraw, {"negative_available", "debt_inconsistent"}),
    "pending_without_lot": (pending_without_lot, {"pending_without_lot"}),
    "lot_in_wrong_account": (settle_without_postings, {"lot_in_wrong_account"}),
    "lot_owner_mismatch": (give_a_lot_away, {"lot_owner_mismatch"}),
    "foreign_member_posting": (
        post_to_another_member,
        {"foreign_member_posting", "debt_inconsistent"},
    ),
}


def test_a_sound_ledger_has_no_violations(db_session: Session) -> None:
    a_ledger(db_session)
    assert verify(db_session) == []


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_verify_reports_damage(db_session: Session, damage: str) -> None:
    member, tx = a_ledger(db_session)
    do, expected = DAMAGE[damage]
    do(db_session, member, tx)
    found = {v.check: v for v in verify(db_session)}
    assert set(found) == expected
    assert found[damage].count == 1
    assert len(found[damage].examples) == 1


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("TROFAST_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = build_engine(get_settings())
    upgrade(engine)
    with unit_of_work(build_sessionmaker(engine)) as session:
        member = new_member(session)
        service.earn(session, member, "e1", 50, available_at=T0, expires_at=T0, now=T0)
    engine.dispose()
    yield url
    get_settings.cache_clear()


def test_cli_settles_expires_and_verifies(cli_database: str) -> None:
    runner = CliRunner()
    settled = runner.invoke(app, ["ledger", "settle"])
    assert settled.exit_code == 0, settled.output
    assert "settled 0 lot(s)" in flat(settled.output)  # earned directly available at T0
    expired = runner.invoke(app, ["ledger", "expire"])
    assert "expired 1 lot(s)" in flat(expired.output)
    ok = runner.invoke(app, ["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "ledger ok" in flat(ok.output)

    engine = build_engine(get_settings())
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_postings SET amount = amount + 7 WHERE id = 1"))
    engine.dispose()
    broken = runner.invoke(app, ["ledger", "verify"])
    assert broken.exit_code == 1
    assert "unbalanced_transaction" in flat(broken.output)
    assert '"sum": 7' in flat(broken.output)


def test_verify_leaves_the_planner_settings_of_the_transaction_as_it_found_them(
    db_session: Session,
) -> None:
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("the settings are PostgreSQL's")
    names = ("work_mem", "max_parallel_workers_per_gather", "enable_hashagg", "enable_hashjoin")
    before = [db_session.execute(text(f"SHOW {name}")).scalar() for name in names]
    a_ledger(db_session)

    assert verify(db_session) == []

    assert [db_session.execute(text(f"SHOW {name}")).scalar() for name in names] == before
