"""Jobs through the real handler, dispatched over HTTP to a real stand-in ETL service on loopback."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.etl.conftest import closed_port_url, headers, save_settings

JOBS = "/api/v1/etl/jobs"


@pytest.fixture(autouse=True)
def _settings():
    save_settings(repositories=["acme/checkout", "acme/billing", "platform/*"])


def create(gateway, body, *, role="admin", key=None, subject="1", teams=()):
    extra = {"idempotency-key": key} if key else {}
    return gateway.request("POST", JOBS, headers={**headers(role, teams, subject), **extra}, json_body=body)


def test_a_job_is_dispatched_to_the_etl_service(gateway, etl_service):
    response = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]})

    assert response.status == 202
    job = response.json()
    assert job["status"] == "dispatched" and job["progress"] == 0.0
    assert job["repositories"] == ["acme/checkout"] and job["trigger"] == "api"
    assert response.headers["location"] == f"{JOBS}/{job['id']}"
    [posted] = etl_service.jobs_posted()
    assert posted.headers["idempotency-key"] == job["id"]  # a redelivery is recognisable
    assert posted.body["id"] == job["id"]
    assert posted.body["type"] == "incremental"
    assert posted.body["repositories"] == ["acme/checkout"]
    assert posted.body["settings_version"] == 1
    assert posted.body["settings"]["repositories"] == ["acme/checkout", "acme/billing", "platform/*"]


def test_without_repositories_a_job_syncs_every_configured_one(gateway, etl_service):
    job = create(gateway, {"type": "full"}).json()

    assert job["repositories"] == ["acme/billing", "acme/checkout", "platform/*"]


def test_repositories_outside_the_settings_are_422(gateway, etl_service):
    response = create(gateway, {"type": "incremental", "repositories": ["acme/checkout", "other/repo"]})

    assert response.status == 422
    assert response.json()["error"]["code"] == "repository_not_configured"
    assert response.json()["error"]["details"] == {"repositories": ["other/repo"]}
    assert etl_service.requests == []


@pytest.mark.parametrize(
    "body",
    [
        {"type": "weekly"},
        {"repositories": ["acme/checkout"]},
        {"type": "full", "repositories": "acme/checkout"},
    ],
)
def test_malformed_job_requests_are_422(gateway, etl_service, body):
    assert create(gateway, body).status == 422


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("executive", 403)])
def test_members_and_executives_cannot_start_jobs(gateway, etl_service, role, status):
    assert create(gateway, {"type": "incremental"}, role=role).status == status


def test_the_same_idempotency_key_gives_the_same_job_dispatched_once(gateway, etl_service):
    body = {"type": "incremental", "repositories": ["acme/billing"]}
    first = create(gateway, body, key="deploy-button-1")
    second = create(gateway, body, key="deploy-button-1")

    assert first.status == 202
    assert second.status == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert len(etl_service.jobs_posted()) == 1
    # another caller's identical key is another request
    other = create(gateway, body, key="deploy-button-1", subject="2")
    assert other.status == 202 and other.json()["id"] != first.json()["id"]
    assert len(etl_service.jobs_posted()) == 2


def test_an_idempotency_key_reused_for_another_request_is_422(gateway, etl_service):
    create(gateway, {"type": "incremental", "repositories": ["acme/billing"]}, key="k-1")
    response = create(gateway, {"type": "full", "repositories": ["acme/billing"]}, key="k-1")

    assert response.status == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(etl_service.jobs_posted()) == 1


def test_concurrent_requests_with_one_key_create_one_job(gateway, etl_service):
    from concurrent.futures import ThreadPoolExecutor

    body = {"type": "incremental", "repositories": ["acme/billing"]}

    def click(_: int):
        asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum runs on the thread's loop
        return create(gateway, body, key="double-click")

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(click, range(4)))

    assert {response.json()["id"] for response in responses} == {responses[0].json()["id"]}
    assert sorted(response.status for response in responses) == [200, 200, 200, 202]
    assert len(etl_service.jobs_posted()) == 1


def test_one_active_full_sync_per_scope(gateway, etl_service):
    first = create(gateway, {"type": "full", "repositories": ["acme/checkout", "platform/*"]})
    overlapping = create(gateway, {"type": "full", "repositories": ["platform/api"]})
    disjoint = create(gateway, {"type": "full", "repositories": ["acme/billing"]})
    incremental = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]})

    assert first.status == 202
    assert overlapping.status == 409
    assert overlapping.json()["error"]["code"] == "full_sync_active"
    assert overlapping.json()["error"]["details"] == {"job_id": first.json()["id"]}
    assert disjoint.status == 202
    assert incremental.status == 202  # only full syncs are exclusive
    # once the first one is cancelled, its repositories may be fully synced again
    gateway.request("POST", f"{JOBS}/{first.json()['id']}/cancel", headers=headers())
    assert create(gateway, {"type": "full", "repositories": ["platform/api"]}).status == 202


def test_5xx_answers_are_retried_with_backoff_until_accepted(gateway, etl_service):
    etl_service.script[:] = [503, 500]

    response = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]})

    assert response.status == 202
    assert response.json()["status"] == "dispatched"
    posted = etl_service.jobs_posted()
    assert len(posted) == 3  # two failures, then 202
    assert {request.headers["idempotency-key"] for request in posted} == {response.json()["id"]}


def test_an_etl_service_that_keeps_failing_is_502_and_the_job_failed(gateway, etl_service):
    etl_service.script[:] = [500, 502, 504]

    response = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]})

    assert response.status == 502
    error = response.json()["error"]
    assert error["code"] == "etl_bad_gateway"
    assert error["request_id"]
    assert error["message"].startswith("The ETL service answered 504")
    assert len(etl_service.jobs_posted()) == 3  # 1 + ETL_DISPATCH_RETRIES (2)
    job = gateway.request("GET", f"{JOBS}/{error['details']['job']['id']}", headers=headers()).json()
    assert job["status"] == "failed"
    assert job["error"] == error["message"]
    assert job["finished_at"]


def test_a_refusal_is_not_retried(gateway, etl_service):
    etl_service.script[:] = [400]

    response = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]})

    assert response.status == 502
    assert response.json()["error"]["code"] == "etl_rejected"
    assert len(etl_service.jobs_posted()) == 1


def test_a_slow_etl_service_times_out_each_attempt(gateway, etl_service, configure):
    configure(ETL_DISPATCH_TIMEOUT_SECONDS=0.2, ETL_DISPATCH_RETRIES=1)
    etl_service.script[:] = [(202, 1.0), (202, 1.0)]

    started = time.monotonic()
    response = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]})
    elapsed = time.monotonic() - started

    assert response.status == 503
    assert response.json()["error"]["code"] == "etl_unavailable"
    assert "timed out" in response.json()["error"]["message"]
    assert len(etl_service.jobs_posted()) == 2
    assert elapsed < 1.0  # two 0.2 s timeouts and a 0.01 s backoff, not the service's 1 s


def test_a_down_etl_service_is_503_and_the_failed_job_can_be_retried(gateway, etl_service, configure):
    live_url = etl_service.url
    configure(ETL_SERVICE_URL=closed_port_url())

    down = create(gateway, {"type": "full", "repositories": ["acme/billing"]})

    assert down.status == 503
    error = down.json()["error"]
    assert error["code"] == "etl_unavailable"
    assert "(after 3 attempts)" in error["message"]
    failed_id = error["details"]["job"]["id"]
    assert error["details"]["job"]["status"] == "failed"

    configure(ETL_SERVICE_URL=live_url)
    retried = gateway.request("POST", f"{JOBS}/{failed_id}/retry", headers=headers("manager"))

    assert retried.status == 202
    assert retried.json()["retry_of"] == failed_id
    assert retried.json()["trigger"] == "retry"
    assert retried.json()["status"] == "dispatched"
    assert [request.body["id"] for request in etl_service.jobs_posted()] == [retried.json()["id"]]
    original = gateway.request("GET", f"{JOBS}/{failed_id}", headers=headers()).json()
    assert original["status"] == "failed"  # kept as it was
    again = gateway.request("POST", f"{JOBS}/{failed_id}/retry", headers=headers())
    assert again.status == 409 and again.json()["error"]["code"] == "job_already_retried"


def test_only_failed_or_cancelled_jobs_are_retried(gateway, etl_service):
    job = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]}).json()

    response = gateway.request("POST", f"{JOBS}/{job['id']}/retry", headers=headers())

    assert response.status == 409
    assert response.json()["error"]["code"] == "job_not_retryable"


def test_cancel_stops_the_job_and_tells_the_etl_service(gateway, etl_service):
    job = create(gateway, {"type": "incremental", "repositories": ["acme/checkout"]}).json()

    cancelled = gateway.request("POST", f"{JOBS}/{job['id']}/cancel", headers=headers("manager"))

    assert cancelled.status == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["finished_at"]
    assert etl_service.requests[-1].path == f"/api/v1/jobs/{job['id']}/cancel"
    twice = gateway.request("POST", f"{JOBS}/{job['id']}/cancel", headers=headers())
    assert twice.status == 409 and twice.json()["error"]["code"] == "job_finished"
    assert gateway.request("POST", f"{JOBS}/{job['id']}/cancel", headers=headers("member")).status == 403


def test_unknown_and_malformed_job_ids_are_404(gateway):
    for job_id in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = gateway.request("GET", f"{JOBS}/{job_id}", headers=headers())
        assert response.status == 404
        assert response.json()["error"]["code"] == "job_not_found"


def test_listing_is_newest_first_filtered_and_paginated(gateway, etl_service):
    ids = [
        create(gateway, {"type": "incremental", "repositories": [repository]}).json()["id"]
        for repository in ("acme/checkout", "acme/billing", "platform/api")
    ]
    gateway.request("POST", f"{JOBS}/{ids[1]}/cancel", headers=headers())

    everything = gateway.request("GET", JOBS, headers=headers("member")).json()
    page = gateway.request("GET", JOBS, headers=headers(), query={"limit": "1", "offset": "1"}).json()
    cancelled = gateway.request("GET", JOBS, headers=headers(), query={"status": "cancelled"}).json()
    either = gateway.request(
        "GET", JOBS, headers=headers(), query=[("status", "cancelled"), ("status", "dispatched")]
    ).json()

    assert [job["id"] for job in everything["items"]] == ids[::-1]
    assert everything["total"] == 3
    assert [job["id"] for job in page["items"]] == [ids[1]] and page["total"] == 3
    assert [job["id"] for job in cancelled["items"]] == [ids[1]] and cancelled["total"] == 1
    assert either["total"] == 3
    bad = gateway.request("GET", JOBS, headers=headers(), query={"status": "sleeping"})
    assert bad.status == 422


def test_managers_sync_only_their_teams_repositories(gateway, etl_service):
    from sqlalchemy import text

    from pulse.db import transaction

    with transaction() as connection:
        connection.execute(
            text("INSERT INTO teams (key, name) VALUES ('payments', 'Payments'), ('infra', 'Infra')")
        )
        connection.execute(
            text(
                "INSERT INTO repositories (key, team_id) VALUES "
                "('acme/checkout', (SELECT id FROM teams WHERE key = 'payments')), "
                "('acme/billing', (SELECT id FROM teams WHERE key = 'infra'))"
            )
        )

    own = create(
        gateway,
        {"type": "incremental", "repositories": ["acme/checkout"]},
        role="manager",
        teams=("payments",),
    )
    other = create(
        gateway,
        {"type": "incremental", "repositories": ["acme/billing"]},
        role="manager",
        teams=("payments",),
    )
    unnamed = create(gateway, {"type": "incremental"}, role="manager", teams=("payments",))

    assert own.status == 202
    assert other.status == 403 and other.json()["error"]["code"] == "repository_forbidden"
    assert unnamed.status == 403
    assert len(etl_service.jobs_posted()) == 1
