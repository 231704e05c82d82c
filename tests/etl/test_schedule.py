"""Scheduled syncs: settings schedules evaluated at each EventBridge tick."""

from __future__ import annotations

import datetime as dt

from tests.etl.conftest import save_settings

REPOSITORIES = ["acme/checkout", "acme/billing"]


def saved_at(**values) -> dt.datetime:
    """Save settings; when they were saved (the database's clock)."""
    from pulse.db import connect
    from pulse.etl.settings import current

    save_settings(repositories=REPOSITORIES, **values)
    with connect() as connection:
        changed_at = current(connection).changed_at
    assert changed_at is not None
    return changed_at


def t0_minute() -> int:
    """The current minute, read before saving settings."""
    return dt.datetime.now(dt.UTC).minute


def minute_of(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def jobs_listed(gateway):
    from tests.etl.conftest import headers

    return gateway.request("GET", "/api/v1/etl/jobs", headers=headers()).json()["items"]


def test_a_due_schedule_starts_one_incremental_job(gateway, etl_service):
    from pulse.etl.schedule import run_due

    t0 = saved_at(schedules=[{"name": "often", "cron": "* * * * *", "repositories": ["acme/billing"]}])
    tick = t0 + dt.timedelta(minutes=3, seconds=5)

    [fired] = run_due(now=tick)

    assert fired["schedule"] == "often"
    assert fired["fire_at"] == minute_of(tick)  # the latest firing minute, not each missed one
    [job] = jobs_listed(gateway)
    assert job["id"] == fired["job_id"]
    assert (job["type"], job["trigger"], job["schedule"]) == ("incremental", "schedule", "often")
    assert job["requested_by"] == "schedule:often"
    assert job["repositories"] == ["acme/billing"]
    assert job["status"] == "dispatched"
    assert [request.body["id"] for request in etl_service.jobs_posted()] == [job["id"]]


def test_a_repeated_tick_fires_nothing_twice(gateway, etl_service):
    from pulse.etl.schedule import run_due

    t0 = saved_at(schedules=[{"name": "often", "cron": "* * * * *"}])
    tick = t0 + dt.timedelta(minutes=2)

    run_due(now=tick)
    [again] = run_due(now=tick)

    assert again["skipped"] == "already fired" and again["job_id"] is None
    assert len(jobs_listed(gateway)) == 1
    assert len(etl_service.jobs_posted()) == 1


def test_an_active_incremental_sync_of_the_same_repositories_skips_the_firing(gateway, etl_service):
    from pulse.etl.schedule import run_due

    t0 = saved_at(schedules=[{"name": "often", "cron": "* * * * *"}])
    [first] = run_due(now=t0 + dt.timedelta(minutes=2))
    [second] = run_due(now=t0 + dt.timedelta(minutes=3))

    assert second["job_id"] is None
    assert (
        second["skipped"] == f"incremental job {first['job_id']} over the same repositories is still active"
    )
    assert len(jobs_listed(gateway)) == 1


def test_disabled_schedules_and_crons_that_did_not_fire_start_nothing(gateway, etl_service):
    from pulse.etl.schedule import run_due

    t0 = saved_at(
        schedules=[
            {"name": "off", "cron": "* * * * *", "enabled": False},
            # fires only at the minute the settings were saved, which is not after the save
            {"name": "past", "cron": f"{t0_minute()} * * * *"},
        ]
    )

    assert run_due(now=t0 + dt.timedelta(seconds=1)) == []
    assert jobs_listed(gateway) == []


def test_firings_older_than_the_lookback_are_not_caught_up(gateway, etl_service):
    from pulse.etl.schedule import LOOKBACK, run_due

    cron_minute = (t0_minute() + 1) % 60
    t0 = saved_at(schedules=[{"name": "hourly", "cron": f"{cron_minute} * * * *"}])
    first_firing = minute_of(t0).replace(minute=cron_minute)
    if first_firing <= t0:  # the save itself crossed into that minute: the next hour's
        first_firing += dt.timedelta(hours=1)

    # 15 minutes of lookback: a tick 20 minutes after the firing no longer sees it
    assert dt.timedelta(minutes=15) == LOOKBACK
    assert run_due(now=first_firing + dt.timedelta(minutes=20)) == []
    [fired] = run_due(now=first_firing + dt.timedelta(minutes=14))
    assert fired["fire_at"] == first_firing


def test_the_scheduled_event_runs_through_the_handler(gateway, etl_service):
    t0 = saved_at(schedules=[{"name": "often", "cron": "* * * * *"}])
    tick = minute_of(t0) + dt.timedelta(minutes=5)
    event = {
        "version": "0",
        "id": "8e1c2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": tick.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/pulse-dev-EtlScheduleFunctionTick"],
        "detail": {},
    }

    result = gateway.invoke("EtlScheduleFunction", event)

    [fired] = result["fired"]
    assert fired["schedule"] == "often"
    assert fired["fire_at"] == tick.isoformat()
    assert fired["job_id"] == jobs_listed(gateway)[0]["id"]
