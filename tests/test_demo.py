"""The demo shop (`make demo` runs `trofast demo`): a new user sees real balances, every tier,
the campaigns, action points and today's birthday bonuses, on a ledger that verifies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.support.cli import flat
from trofast.cli.main import app
from trofast.config import get_settings
from trofast.db import build_engine
from trofast.kit.time import utc_now
from trofast.ledger.verify import verify
from trofast.models import Customer, LedgerTransaction, MemberTier, Order
from trofast.program.actions import BIRTHDAYS
from trofast.program.document import Programme
from trofast.program.service import active, is_member

CUSTOMERS = 300


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'trofast.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TROFAST_DATABASE_URL", url)
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["demo", "--customers", str(CUSTOMERS), "--no-serve"])
        assert result.exit_code == 0, result.output
        engine = build_engine(get_settings())
        yield engine, result.output
        engine.dispose()
    get_settings.cache_clear()


@pytest.fixture
def session(demo: tuple[Engine, str]) -> Iterator[Session]:
    with Session(demo[0]) as session:
        yield session


def _programme(session: Session) -> Programme:
    program = active(session)
    assert program is not None, "the demo applies its sample programme"
    return program.programme


def _rules_used(session: Session) -> set[str | None]:
    return set(session.scalars(select(LedgerTransaction.rule).distinct()))


def test_the_ledger_verifies(session: Session) -> None:
    assert verify(session) == []
    assert session.scalar(select(func.count()).select_from(Order)) > CUSTOMERS


def test_members_reach_every_tier(session: Session) -> None:
    levels = {level.id for level in _programme(session).tiers.levels}
    reached = set(session.scalars(select(MemberTier.level).distinct()))
    assert len(levels) == 3
    assert reached == levels


def test_campaigns_and_actions_earn(session: Session) -> None:
    programme = _programme(session)
    used = _rules_used(session)
    for kind in ("campaign", "action", "first_order", "sustainable_product"):
        ids = {rule.id for rule in programme.rules_of(kind)}
        assert ids, f"the sample programme has {kind} rules"
        assert ids <= used, f"{kind} rules that earned nothing: {ids - used}"


def test_todays_birthdays_get_their_bonus(session: Session) -> None:
    programme = _programme(session)
    given = set(
        session.scalars(
            select(LedgerTransaction.customer_id).where(LedgerTransaction.rule == "birthday")
        )
    )
    # Membership as the programme decides it (the demo enrols every customer).
    members = [c for c in session.scalars(select(Customer)) if is_member(programme, c)]
    assert len(members) == CUSTOMERS
    # Most of them give a birthday, so the birthday rule has someone to reward.
    assert sum(c.birthday is not None for c in members) > CUSTOMERS // 2

    # The load ran the birthday job: every member it finds due got the bonus, and no one else
    # (which members are due is tested in tests/program/test_actions.py). It ran on the UTC
    # day of the load, which may have ended since; with 300 customers that day may have none.
    now = utc_now()
    due = [set(BIRTHDAYS.due(session, at)) for at in (now, now - timedelta(hours=1))]
    assert given in due


def test_the_output_reports_what_was_loaded(demo: tuple[Engine, str], session: Session) -> None:
    births = session.scalar(select(func.count()).where(LedgerTransaction.rule == "birthday"))
    orders = session.scalar(select(func.count()).select_from(Order))
    assert f"{births} birthday bonus(es)" in flat(demo[1])
    assert f"{orders} orders in the demo shop" in flat(demo[1])
