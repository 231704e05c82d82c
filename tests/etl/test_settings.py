"""ETL settings through the real handler: roles, validation (422), versions and history."""

from __future__ import annotations

import pytest

from tests.etl.conftest import etl_key_headers, headers

SETTINGS = "/api/v1/etl/settings"
VALID = {
    "repositories": ["acme/checkout", "acme-platform/*"],
    "sources": ["github", "pagerduty"],
    "incident_label": "sev",
    "attribution_window_hours": 72,
    "schedules": [{"name": "nightly", "cron": "0 2 * * *", "repositories": ["acme-platform/api"]}],
}


def test_defaults_are_version_0_before_anything_is_saved(gateway):
    response = gateway.request("GET", SETTINGS, headers=headers("member"))

    assert response.status == 200
    assert response.headers["etag"] == '"0"'
    body = response.json()
    assert body["version"] == 0 and body["changed_by"] is None
    # the attribution window defaults to INCIDENT_ATTRIBUTION_WINDOW_HOURS (168)
    assert body["settings"] == {
        "repositories": [],
        "sources": ["github"],
        "incident_label": "incident",
        "attribution_window_hours": 168,
        "schedules": [],
    }


def test_admin_saves_a_version_that_everyone_signed_in_reads(gateway):
    saved = gateway.request("PUT", SETTINGS, headers=headers("admin", subject="42"), json_body=VALID)

    assert saved.status == 200
    assert saved.json()["version"] == 1
    assert saved.json()["changed_by"] == "42"
    assert saved.json()["changed_at"]
    for reader in (headers("member"), headers("executive"), headers("manager"), etl_key_headers()):
        read = gateway.request("GET", SETTINGS, headers=reader)
        assert read.status == 200
        assert read.json()["settings"]["schedules"] == [
            {"name": "nightly", "cron": "0 2 * * *", "repositories": ["acme-platform/api"], "enabled": True}
        ]


@pytest.mark.parametrize("role", ["member", "manager", "executive"])
def test_only_admins_write(gateway, role):
    response = gateway.request("PUT", SETTINGS, headers=headers(role), json_body=VALID)

    assert response.status == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_api_keys_without_the_etl_scope_cannot_read(gateway):
    response = gateway.request("GET", SETTINGS, headers=etl_key_headers(("ingest",)))

    assert response.status == 403


@pytest.mark.parametrize(
    ("change", "where", "reason"),
    [
        ({"repositories": ["checkout"]}, "repositories", "not 'owner/name' or 'owner/*': checkout"),
        ({"repositories": ["acme/a", "acme/a"]}, "repositories", "duplicate repositories: acme/a"),
        ({"sources": ["svn"]}, "sources.0", "Input should be"),
        ({"sources": []}, "sources", "at least 1 item"),
        ({"incident_label": "   "}, "incident_label", "must not be blank"),
        ({"attribution_window_hours": 0}, "attribution_window_hours", "greater than or equal to 1"),
        ({"attribution_window_hours": 2161}, "attribution_window_hours", "less than or equal to 2160"),
        (
            {"schedules": [{"name": "x", "cron": "0 25 * * *"}]},
            "schedules.0.cron",
            "hour: 25 is outside 0-23",
        ),
        (
            {"schedules": [{"name": "Nightly!", "cron": "0 2 * * *"}]},
            "schedules.0.name",
            "should match pattern",
        ),
        (
            {"schedules": [{"name": "x", "cron": "0 2 * * *"}, {"name": "x", "cron": "0 3 * * *"}]},
            "",
            "duplicate schedule names: x",
        ),
        (
            {"schedules": [{"name": "x", "cron": "0 2 * * *", "repositories": ["other/repo"]}]},
            "",
            "schedule 'x' names repositories that are not synced: other/repo",
        ),
        ({"colour": "blue"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_are_422_naming_the_field(gateway, change, where, reason):
    response = gateway.request("PUT", SETTINGS, headers=headers("admin"), json_body={**VALID, **change})

    assert response.status == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(problem.startswith(where) and reason in problem for problem in error["details"]), error
    assert gateway.request("GET", SETTINGS, headers=headers()).json()["version"] == 0


def test_history_records_who_changed_what_newest_first(gateway):
    gateway.request("PUT", SETTINGS, headers=headers(subject="7"), json_body=VALID)
    gateway.request(
        "PUT", SETTINGS, headers=headers(subject="8"), json_body={**VALID, "incident_label": "outage"}
    )
    gateway.request(
        "PUT",
        SETTINGS,
        headers=headers(subject="9"),
        json_body={
            **VALID,
            "incident_label": "outage",
            "sources": ["github"],
            "attribution_window_hours": 24,
        },
    )

    page = gateway.request("GET", f"{SETTINGS}/history", headers=headers("member"), query={"limit": "2"})

    assert page.status == 200
    body = page.json()
    assert body["total"] == 3
    assert [(item["version"], item["changed_by"]) for item in body["items"]] == [(3, "9"), (2, "8")]
    assert body["items"][0]["changed_fields"] == ["attribution_window_hours", "sources"]
    assert body["items"][1]["changed_fields"] == ["incident_label"]
    oldest = gateway.request("GET", f"{SETTINGS}/history", headers=headers(), query={"offset": "2"}).json()
    assert [item["version"] for item in oldest["items"]] == [1]
    assert oldest["items"][0]["settings"]["incident_label"] == "sev"


def test_saving_the_same_settings_again_records_no_version(gateway):
    first = gateway.request("PUT", SETTINGS, headers=headers(), json_body=VALID)
    again = gateway.request("PUT", SETTINGS, headers=headers(subject="2"), json_body=VALID)

    assert again.status == 200
    assert again.json()["version"] == first.json()["version"] == 1
    assert again.json()["changed_by"] == "1"


def test_if_match_with_a_stale_version_is_412(gateway):
    gateway.request("PUT", SETTINGS, headers=headers(), json_body=VALID)

    stale = gateway.request(
        "PUT", SETTINGS, headers={**headers(), "if-match": '"0"'}, json_body={**VALID, "incident_label": "x"}
    )
    fresh = gateway.request(
        "PUT", SETTINGS, headers={**headers(), "if-match": '"1"'}, json_body={**VALID, "incident_label": "x"}
    )

    assert stale.status == 412
    assert stale.json()["error"]["code"] == "settings_version_mismatch"
    assert fresh.status == 200 and fresh.json()["version"] == 2
    assert fresh.headers["etag"] == '"2"'
