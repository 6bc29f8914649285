"""The worker's cache is sized from its memory budget, not left at the SDK's default."""

from __future__ import annotations

import pytest

from starter.cache_budget import (
    CACHED_CASE,
    FLOOR,
    MEMORY_ENV,
    WORKER_BASE,
    CacheBudget,
    MemoryBudgetInvalid,
    cache_budget,
    parse_size,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [("2GiB", 2 * 1024**3), ("512 MiB", 512 * 1024**2), ("1.5GB", 1_500_000_000), ("800", 800)],
)
def test_sizes_are_read_in_the_units_people_write(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "2 TiB", "-1GiB", "GiB"])
def test_a_size_we_cannot_read_is_refused_with_the_variable_named(text: str) -> None:
    with pytest.raises(MemoryBudgetInvalid, match=MEMORY_ENV):
        parse_size(text)


def test_the_budget_set_decides_how_many_cases_are_cached() -> None:
    budget = cache_budget({MEMORY_ENV: "2GiB"})
    assert budget.cached_cases == (2 * 1024**3 - WORKER_BASE) // CACHED_CASE
    assert "2,048 MiB" in budget.describe() and MEMORY_ENV in budget.describe()


def test_a_small_budget_still_caches_the_floor() -> None:
    assert CacheBudget(WORKER_BASE // 2, "test").cached_cases == FLOOR


def test_without_a_budget_half_the_memory_there_is_at_most_three_gib() -> None:
    budget = cache_budget({})
    assert 0 < budget.memory <= 3 * 1024**3


def test_the_default_cap_caches_ten_thousand_cases() -> None:
    """`python -m bench open` keeps 10,000 open cases cached in the default budget."""
    assert cache_budget({MEMORY_ENV: "3GiB"}).cached_cases >= 10_000


async def test_a_worker_with_a_budget_it_cannot_read_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
):
    from starter.client import CaseRefused
    from starter.settings import Settings
    from starter.worker import run_worker

    monkeypatch.setenv("SUPPORT_PROVISION_WORKER_MEMORY", "lots")
    with pytest.raises(CaseRefused) as refused:
        await run_worker(Settings())
    assert refused.value.code == "worker_memory_invalid"
    assert "SUPPORT_PROVISION_WORKER_MEMORY='lots' is not a size" in refused.value.message
