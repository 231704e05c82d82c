"""DORA answers are served cache-aside under versioned keys; a write makes the next answer fresh."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse import cache
from pulse.auth.context import Caller
from pulse.metrics import dora
from pulse.metrics.common import CommonParams
from tests.metrics.test_dora import MARCH, at, deployment, load, repository, team

ADMIN = Caller(subject="1", kind="user", role="admin")


def dora_keys() -> set[str]:
    return set(cache.get_redis().scan_iter(match=cache.key("dora:*")))


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test resets the data version to 0, so an earlier test's answers would match its keys."""
    for name in dora_keys():
        cache.get_redis().delete(name)


def test_the_second_answer_is_cached_and_a_write_through_ingest_makes_the_next_one_fresh():
    load(repository(), deployment("d1", at(2)))
    params = CommonParams(window=MARCH)

    first = dora.answer_summary(ADMIN, params)
    second = dora.answer_summary(ADMIN, params)

    assert (first["meta"]["cached"], second["meta"]["cached"]) == (False, True)
    assert {k: v for k, v in second.items() if k != "meta"} == {k: v for k, v in first.items() if k != "meta"}
    assert second["meta"]["generated_at"] == first["meta"]["generated_at"]
    before = dora_keys()
    assert len(before) == 1

    load(deployment("d2", at(3)))
    third = dora.answer_summary(ADMIN, params)

    assert third["meta"]["cached"] is False
    assert third["deployment_frequency"]["deployments"] == 2
    assert third["meta"]["data_updated_at"] != first["meta"]["data_updated_at"]
    # The old answer was not deleted; it is simply never asked for again (a new version's key).
    after = dora_keys()
    assert before < after and len(after) == 2


def test_answers_for_different_parameters_and_scopes_do_not_share_a_key():
    load(team("payments"), repository("acme/pay", team="payments"), deployment("d1", at(2), repo="acme/pay"))
    manager = Caller(subject="7", kind="user", role="manager", teams=("payments",))

    org = dora.answer_summary(ADMIN, CommonParams(window=MARCH))
    filtered = dora.answer_summary(ADMIN, CommonParams(window=MARCH, teams=("payments",)))
    benchmark_2021 = dora.answer_summary(ADMIN, CommonParams(window=MARCH, benchmark="2021"))
    staging = dora.answer_summary(ADMIN, CommonParams(window=MARCH, environment="staging"))
    as_manager = dora.answer_summary(manager, CommonParams(window=MARCH, teams=("payments",)))

    assert [org["meta"]["cached"], filtered["meta"]["cached"], benchmark_2021["meta"]["cached"]] == [
        False,
        False,
        False,
    ]
    assert staging["meta"]["cached"] is False
    assert staging["deployment_frequency"]["deployments"] == 0
    # The key holds the data a scope reads, not who asked: the manager's payments answer is the
    # admin's payments answer.
    assert as_manager["meta"]["cached"] is True


def test_warm_fills_the_keys_of_the_default_requests():
    today = dt.date(2026, 3, 31)
    load(team("payments"), repository("acme/pay", team="payments"), deployment("d1", at(30), repo="acme/pay"))

    report = dora.warm(today=today)

    # Two windows x (org + 1 team) x (summary + teams).
    assert (report.computed, report.already_cached) == (8, 0)
    last_30 = dora.default_params(30, today=today)
    assert last_30.window.start_date == dt.date(2026, 3, 2)
    assert dora.answer_summary(ADMIN, last_30)["meta"]["cached"] is True
    team_90 = dora.default_params(90, today=today, teams=("payments",))
    assert dora.answer_teams(ADMIN, team_90)["meta"]["cached"] is True
    assert dora.warm(today=today).as_dict()["already_cached"] == 8
