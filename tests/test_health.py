import pytest
from django.test import Client


def test_healthz_is_public_and_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_broker_and_storage(client: Client) -> None:
    response = client.get("/readyz")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker", "storage"}
    assert response.status_code == 200, body
    assert body["status"] == "ok"


@pytest.mark.django_db
def test_readyz_reports_a_failing_check_as_503(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio import health

    def broken() -> None:
        raise ConnectionError("broker down")

    monkeypatch.setitem(health.CHECKS, "broker", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "unavailable"
    assert response.json()["checks"]["database"] == "ok"
