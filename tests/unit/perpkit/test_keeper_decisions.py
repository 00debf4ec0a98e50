"""The keeper's decisions as plain functions: no chain."""

import pytest

from tests.conftest import WAD

from perpkit.keeper import (
    DebtRepayment,
    Liquidation,
    crank_due,
    is_transient,
    liquidation_batches,
    plan_debt_repayments,
    plan_liquidations,
    random_walk,
    retry,
)


def test_crank_due__first_and_after_interval():
    assert crank_due(0, 1_000, 3600)
    assert not crank_due(1_000, 4_599, 3600)
    assert crank_due(1_000, 4_600, 3600)


def test_plan_liquidations__only_below_maintenance_worst_first():
    plan = plan_liquidations(
        ["a", "b", "c", "d", "e"],
        sizes=[10, -5, 3, 0, 7],
        values=[100, 49, 20, -1, 70],
        maintenance=[100, 50, 60, 0, 70],
    )
    # a: at maintenance (not below); d: flat; e: equal. b short by 1, c by 40.
    assert plan == [Liquidation("c", 3, 40), Liquidation("b", 5, 1)]


def test_plan_debt_repayments__flat_or_unhealthy_debtors_largest_first_within_capital():
    plan = plan_debt_repayments(
        ["a", "b", "c", "d", "e"],
        sizes=[0, 5, 5, 0, 0],
        values=[10, 49, 60, 5, -3],
        maintenance=[0, 50, 50, 0, 0],
        pnls=[-40, -30, -90, 7, -100],
        capital=150,
    )
    # a: flat in debt; b: in debt below maintenance; c: in debt but healthy (its collateral is not
    # for sale); d: no debt; e: largest debt, paid in full; then a, then b gets what capital is left.
    assert plan == [DebtRepayment("e", 100), DebtRepayment("a", 40), DebtRepayment("b", 10)]


def test_plan_debt_repayments__no_capital_no_plan():
    assert plan_debt_repayments(["a"], [0], [0], [0], [-5], capital=0) == []


def test_retry__transient_errors_back_off_then_succeed():
    calls, sleeps, logs = [], [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("connection reset by peer")
        return "ok"

    assert retry(flaky, base_delay=0.5, sleep=sleeps.append, log=logs.append) == "ok"
    assert sleeps == [0.5, 1.0]
    assert len(logs) == 2 and logs[0].startswith("rpc-retry attempt=1")


def test_retry__gives_up_after_attempts():
    def down():
        raise TimeoutError("request timed out")

    with pytest.raises(TimeoutError):
        retry(down, attempts=3, sleep=lambda _: None)


def test_retry__contract_errors_are_not_retried():
    calls = []

    def reverts():
        calls.append(1)
        raise ValueError("NotLiquidatable")

    assert not is_transient(ValueError("NotLiquidatable"))
    with pytest.raises(ValueError):
        retry(reverts, sleep=lambda _: None)
    assert calls == [1]


def test_random_walk__is_reproducible_from_its_seed():
    a, b = random_walk(60_000, seed=7), random_walk(60_000, seed=7)
    first = [next(a) for _ in range(5)]
    assert first == [next(b) for _ in range(5)]
    assert first != [next(random_walk(60_000, seed=8)) for _ in range(5)]


def test_quote_due__both_sides_and_a_change():
    from perpkit.keeper import quote_due

    assert quote_due((99, 101), None)
    assert not quote_due((99, 101), (99, 101))  # unchanged
    assert quote_due((99, 102), (99, 101))
    assert not quote_due((None, 101), None)  # one-sided book
    assert not quote_due((102, 101), None)  # crossed


def test_liquidation_batches__cut_by_the_gas_budget_in_plan_order():
    plan = [Liquidation(f"0x{i:040x}", WAD, 10 - i) for i in range(7)]
    batches = liquidation_batches(plan, gas_budget=150_000, per_liquidation=50_000)
    assert [[liq.account for liq in b] for b in batches] == [
        [liq.account for liq in plan[0:3]], [liq.account for liq in plan[3:6]], [plan[6].account]]


def test_liquidation_batches__one_account_each_when_the_budget_is_below_one():
    plan = [Liquidation(f"0x{i:040x}", WAD, 1) for i in range(2)]
    assert liquidation_batches(plan, gas_budget=10_000, per_liquidation=50_000) == [[plan[0]], [plan[1]]]
    assert liquidation_batches([], gas_budget=10_000) == []
