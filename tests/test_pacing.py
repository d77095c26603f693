"""The pacing model: one writer's arithmetic, then whole fleets sharing a blob, simulated."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet import DAY, HOUR, Fleet, Member, Outcome, staggered, steady
from modeltap.pacing import Pacer, PacingPolicy, append_bytes, max_writers
from modeltap.stores.azure import MAX_BLOCK_BYTES, MAX_BLOCKS

AZURE = PacingPolicy(max_blocks=MAX_BLOCKS, floor=30.0)

# -- one writer ------------------------------------------------------------------------------


def test_a_writer_alone_appends_at_the_floor_all_day() -> None:
    pacer = Pacer(AZURE, 0.0, DAY)
    assert pacer.next_append() == 0.0, "the first append of a partition waits for nothing"
    for k in range(1, 2000):
        pacer.observe(30.0 * k, k + 1)
        assert pacer.interval == 30.0
    state = pacer.state(30.0 * 1999)
    assert state.own_blocks == 1999 and state.share == 1.0


def test_a_joiner_paces_at_once_from_a_blob_that_already_holds_many_blocks() -> None:
    # 40,000 blocks by noon: the fleet (or an older version) spent most of the day's budget.
    pacer = Pacer(AZURE, 0.0, DAY)
    pacer.observe(12 * HOUR, 40_000, own=False)
    assert pacer.next_append() == 12 * HOUR + 30.0, "a joiner waits its interval like the others"
    pacer.observe(12 * HOUR + 30, 40_060)  # two appends a second, and 5,000 left for 12 hours
    assert pacer.interval > 30 * 10
    state = pacer.state(12 * HOUR + 30)
    assert state.blocks == 40_060 and state.own_blocks == 1 and state.fleet_rate == 2.0
    assert state.projected_blocks <= AZURE.budget, "paced to end within the budget"


def test_a_joiner_starts_at_the_interval_the_fleet_published() -> None:
    assert Pacer(AZURE, 0.0, DAY, fleet_interval=600.0).interval == 600.0
    assert Pacer(AZURE, 0.0, DAY, fleet_interval=10**9).interval == DAY / 24, "held to the ceiling"
    assert Pacer(AZURE, 0.0, DAY, fleet_interval=1.0).interval == 30.0, "held to the floor"
    assert Pacer(AZURE, 0.0, DAY, fleet_interval=math.nan).interval == 30.0


def test_noisy_and_out_of_order_answers_never_make_a_negative_rate() -> None:
    pacer = Pacer(AZURE, 0.0, DAY)
    pacer.observe(1000.0, 500)
    pacer.observe(999.0, 520)  # a later answer stamped earlier
    pacer.observe(1060.0, 510)  # a lower count stamped later: counts never fall
    state = pacer.state(1060.0)
    assert state.blocks == 520
    assert state.fleet_rate >= 0
    assert state.projected_blocks >= state.blocks
    assert AZURE.floor <= pacer.interval <= pacer.ceiling


def test_the_last_minutes_and_after_the_end() -> None:
    pacer = Pacer(AZURE, 0.0, DAY, fleet_interval=3000.0)
    pacer.observe(DAY - 100, AZURE.budget - 10)
    assert pacer.next_append() == DAY, "every writer appends what it holds when the partition ends"
    pacer.observe(DAY + 5, AZURE.budget + 100)  # a chunk of the partition delivered late: at once, from the reserve
    assert pacer.interval == AZURE.floor
    assert pacer.due(DAY + 5 + AZURE.floor)


def test_a_spent_budget_holds_the_writer_at_the_ceiling() -> None:
    pacer = Pacer(AZURE, 0.0, DAY)
    pacer.observe(20 * HOUR, AZURE.budget)
    assert pacer.interval == pacer.ceiling == HOUR


def test_a_growing_fleet_lengthens_the_interval_and_a_shrinking_one_shortens_it() -> None:
    pacer = Pacer(AZURE, 0.0, DAY)
    t, blocks = 0.0, 1
    for _ in range(20):  # 100 writers at the floor: 3.3 appends a second
        t += pacer.interval
        blocks += math.ceil(100 / 30 * pacer.interval) if t > 30 else 100
        pacer.observe(t, blocks)
    grown = pacer.interval
    assert grown > 100 * DAY / AZURE.budget * 0.5
    for _ in range(20):  # now alone
        t += pacer.interval
        blocks += 1
        pacer.observe(t, blocks)
    assert pacer.interval == AZURE.floor < grown


def test_a_writer_knows_its_share_of_the_blob() -> None:
    pacer = Pacer(AZURE, 0.0, DAY)
    for k in range(1, 50):  # three others append as often as this writer
        pacer.observe(30.0 * k, 4 * k + 1)
    assert pacer.state(30.0 * 49).share == 0.25


def test_the_same_answers_give_the_same_pace() -> None:
    runs = []
    for _ in range(2):
        pacer = Pacer(AZURE, 0.0, DAY)
        seen = []
        for k in range(1, 200):
            pacer.observe(k * 31.0, k * 7)
            seen.append(pacer.interval)
        runs.append(seen)
    assert runs[0] == runs[1]


def test_published_intervals_change_only_when_the_pace_moved() -> None:
    pacer = Pacer(AZURE, 0.0, DAY, fleet_interval=600.0)
    assert pacer.publish(None) == 600.0
    assert pacer.publish(500.0) is None
    assert pacer.publish(300.0) == 600.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_blocks": 0, "floor": 1.0}, "max_blocks"),
        ({"max_blocks": True, "floor": 1.0}, "max_blocks"),
        ({"max_blocks": 10, "floor": 0.0}, "floor"),
        ({"max_blocks": 10, "floor": math.inf}, "floor"),
        ({"max_blocks": 10, "floor": 5.0, "ceiling": 1.0}, "ceiling"),
        ({"max_blocks": 10, "floor": 5.0, "reserve": 1.0}, "reserve"),
        ({"max_blocks": 10, "floor": 5.0, "window": -1.0}, "window"),
    ],
)
def test_a_policy_refuses_what_cannot_pace(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PacingPolicy(**kwargs)  # type: ignore[arg-type]


def test_bad_observations_and_partitions_are_refused_and_change_nothing() -> None:
    with pytest.raises(ValueError, match="partition"):
        Pacer(AZURE, 10.0, 10.0)
    pacer = Pacer(AZURE, 0.0, DAY)
    for at, blocks in ((math.nan, 1), (1.0, -1), (1.0, 2.5), (1.0, True)):
        with pytest.raises(ValueError):
            pacer.observe(at, blocks)  # type: ignore[arg-type]
    assert pacer.state(0.0).own_blocks == 0 and pacer.blocks == 0


def test_an_append_carries_an_interval_of_rows_up_to_the_service_block() -> None:
    assert append_bytes(30.0, 1000.0, MAX_BLOCK_BYTES) == 30_000
    assert append_bytes(3600.0, 1 << 20, MAX_BLOCK_BYTES) == MAX_BLOCK_BYTES
    assert append_bytes(600.0, 0.0, MAX_BLOCK_BYTES) == 0
    for bad in ((0.0, 1.0, 1), (1.0, -1.0, 1), (1.0, math.nan, 1), (1.0, 1.0, 0)):
        with pytest.raises(ValueError):
            append_bytes(*bad)


def test_how_many_busy_writers_a_blob_holds() -> None:
    assert max_writers(AZURE, DAY) == 1875  # at an hour's interval
    assert max_writers(PacingPolicy(max_blocks=MAX_BLOCKS, floor=5.0), HOUR) == 1875  # at 150 s


# -- fleets ----------------------------------------------------------------------------------


def check(outcome: Outcome, policy: PacingPolicy, length: float) -> None:
    """What every scenario must keep: one blob with headroom, intervals within their bounds."""
    ceiling = policy.ceiling_for(length)
    assert outcome.blocks <= outcome.max_blocks - (outcome.max_blocks - outcome.budget) // 2, outcome.blocks
    assert all(policy.floor <= interval <= ceiling for _, interval in outcome.intervals)
    # The projection at the pace just set passes the blob's limit only while the ceiling holds a
    # writer back (a surge not yet absorbed): then it says so.
    for (_, interval), (_, projected) in zip(outcome.intervals, outcome.projections, strict=True):
        assert projected <= outcome.max_blocks or interval == ceiling, (projected, interval)


def settled(outcome: Outcome, after: float, before: float = math.inf) -> list[float]:
    """Each writer's last interval set in ``[after, before)``."""
    last: dict[int, float] = {}
    for writer, at, interval, _ in outcome.timeline:
        if after <= at < before:
            last[writer] = interval
    return list(last.values())


SCENARIOS = {
    "one writer": (steady(1), DAY),
    "17 writers, a full blob at 30 s today": (steady(17), DAY),
    "8 pods x 4 workers": (steady(32), DAY),
    "300 writers": (steady(300), DAY),
    "1000 writers": (steady(1000), DAY),
    "300 joining over the morning": (staggered(300, 0, DAY / 2), DAY),
    "200 join at 20:00": (steady(10) + steady(200, join=20 * HOUR), DAY),
    "500 join at 23:30": (steady(10) + steady(500, join=23.5 * HOUR), DAY),
    "busy and quiet streams": (steady(100) + steady(200, row_gap=900), DAY),
    "an hour of 300 writers": (steady(300), HOUR),
    "an hour, 1 then 500 then 10": (
        [Member(0), *steady(500, join=HOUR / 4, leave=HOUR / 2), *steady(9, join=HOUR / 2)],
        HOUR,
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_fleet_keeps_its_partition_in_one_blob(name: str) -> None:
    members, length = SCENARIOS[name]
    policy = AZURE if length == DAY else PacingPolicy(max_blocks=MAX_BLOCKS, floor=5.0)
    check(Fleet(policy, members, length=length).run(), policy, length)


def test_a_fleet_of_1_then_hundreds_then_10_holds_no_rows_longer_than_needed() -> None:
    members = [Member(0), *staggered(300, 2 * HOUR, 6 * HOUR, leave=12 * HOUR), *staggered(9, 7 * HOUR, 8 * HOUR)]
    outcome = Fleet(AZURE, members, seed=3).run()
    check(outcome, AZURE, DAY)
    busiest = settled(outcome, 11 * HOUR)
    assert max(busiest) > 10 * AZURE.floor, "300 writers must lengthen their intervals"
    # Ten writers need 10 appends per interval of a budget that leaves ~0.9 a second: the floor.
    assert settled(outcome, 13 * HOUR) == [AZURE.floor] * 10


def test_a_fleet_joining_a_blob_an_unpaced_writer_filled_stays_in_it() -> None:
    # An older version appended 40,000 blocks by noon; 50 pacing writers come after it.
    outcome = Fleet(AZURE, steady(50, join=12 * HOUR), unpaced=((6 * HOUR, 40_000),)).run()
    check(outcome, AZURE, DAY)
    # 5,000 appends left for 12 hours among 50 writers: paced, but far from the ceiling.
    intervals = settled(outcome, 18 * HOUR)
    assert AZURE.floor * 2 < min(intervals) and max(intervals) < HOUR / 4


def test_writers_that_joined_at_different_times_share_the_blob_fairly() -> None:
    outcome = Fleet(AZURE, staggered(300, 0, DAY / 2)).run()
    # Before the last hour, where a fleet that spent its budget waits longer.
    intervals = sorted(settled(outcome, 22 * HOUR, 23 * HOUR))
    median = intervals[len(intervals) // 2]
    assert intervals[0] > median / 2 and intervals[-1] < median * 2


def test_noisy_clocks_do_not_break_the_budget() -> None:
    outcome = Fleet(AZURE, staggered(200, 0, DAY / 2), jitter=15.0, split=0.05).run()
    check(outcome, AZURE, DAY)


# A scaled blob (hundreds of appends, as the Azurite simulation uses): the same rule at any scale.
@settings(max_examples=25, deadline=None)
@given(
    max_blocks=st.integers(300, 3000),
    hour=st.booleans(),
    first=st.integers(1, 30),
    later=st.integers(0, 30),
    join=st.floats(0.0, 0.95),
    leave=st.floats(0.0, 1.0),
    quiet=st.booleans(),
    jitter=st.floats(0.0, 0.2),
    seed=st.integers(0, 2**16),
)
def test_any_fleet_within_capacity_stays_in_one_blob(
    max_blocks: int,
    hour: bool,
    first: int,
    later: int,
    join: float,
    leave: float,
    quiet: bool,
    jitter: float,
    seed: int,
) -> None:
    length = HOUR if hour else DAY
    floor = length / 2880  # Azure's 30 s of a day, scaled
    policy = PacingPolicy(max_blocks=max_blocks, floor=floor, ceiling=length / 4, reserve=0.25)
    capacity = max_writers(policy, length)
    first = min(first, capacity // 4)
    later = min(later, capacity // 4)
    joined = join * length
    members = steady(max(1, first), leave=joined + leave * (length - joined)) + steady(
        later, join=joined, row_gap=10 * floor if quiet else 0.0
    )
    check(Fleet(policy, members, length=length, seed=seed, jitter=jitter * floor).run(), policy, length)
