"""perpkit.evm: the in-process EVM the deep fuzz campaigns run on. It must behave like the chain
ape gives the tests: blocks and times, reverts that change nothing, snapshots, decoded outputs."""

import pytest

from perpkit.evm import GENESIS_TIME, InProcessChain, Reverted
from tests.fuzz.suites import inprocess_suite, role

OWNER, ALICE, BOB = role("owner"), role("alice"), role("bob")


@pytest.fixture(scope="module")
def build():
    return InProcessChain.from_build().artifacts


@pytest.fixture
def chain(build):
    return InProcessChain(build)


@pytest.fixture
def token(chain):
    return chain.deploy("MockERC20", "USD Coin", "USDC", 6, sender=OWNER)


def test_transaction__mined_in_next_block_one_second_later(chain, token):
    head = chain.blocks.head
    receipt = token.mint(ALICE, 1_000, sender=ALICE)
    assert (receipt.block_number, receipt.timestamp) == (head.number + 1, head.timestamp + 1)
    assert chain.blocks.head.number == head.number + 1
    assert token.balanceOf(ALICE) == 1_000
    assert receipt.gas_used > 21_000


def test_pending_timestamp__sets_next_block_time_once(chain, token):
    chain.pending_timestamp = GENESIS_TIME + 3_600
    assert token.mint(ALICE, 1, sender=ALICE).timestamp == GENESIS_TIME + 3_600
    assert token.mint(ALICE, 1, sender=ALICE).timestamp == GENESIS_TIME + 3_601


def test_pending_timestamp__not_after_head__raises(chain):
    with pytest.raises(ValueError, match="not after the head"):
        chain.pending_timestamp = chain.blocks.head.timestamp


def test_revert__raises_custom_error_data_and_changes_nothing(chain, token):
    token.mint(ALICE, 500, sender=ALICE)
    head = chain.blocks.head
    with pytest.raises(Reverted) as info:
        token.transfer(BOB, 501, sender=ALICE)
    error = chain.errors.parse(info.value.data)
    assert (error.name, dict(error.args)) == (
        "ERC20InsufficientBalance",
        {"sender": ALICE.address, "balance": 500, "needed": 501},
    )
    assert chain.blocks.head == head
    assert (token.balanceOf(ALICE), token.balanceOf(BOB)) == (500, 0)


def test_snapshot_restore__rolls_back_state_and_head(chain, token):
    token.mint(ALICE, 7, sender=ALICE)
    snap, head = chain.snapshot(), chain.blocks.head
    token.mint(ALICE, 5, sender=ALICE)
    chain.mine(1, timestamp=head.timestamp + 86_400)
    chain.restore(snap)
    assert chain.blocks.head == head
    assert token.balanceOf(ALICE) == 7


def test_state_changing_method__without_sender__raises(token):
    with pytest.raises(TypeError, match="pass sender="):
        token.mint(ALICE, 1)


def test_struct_output__has_field_names(chain):
    btc, _ = inprocess_suite(chain)
    account = btc.market.accountOf(ALICE)
    assert account == (0,) * 8
    assert account.capital == 0 and account.size == 0


def test_suite__two_markets_on_one_router(chain):
    btc, eth = inprocess_suite(chain)
    assert btc.router.owner() == OWNER.address
    assert (btc.market_id, eth.market_id) == (0, 1)
    assert btc.router.markets(1) == eth.market.address
    assert eth.oracle.price() == 3_000 * 10**18
