"""Admin clients (topic creation, readiness) get the same Kafka security as the broker."""

from __future__ import annotations

import ssl

import pytest

from servicekit.kafka import admin_options
from tests.helpers.kit import probe_settings

pytestmark = pytest.mark.unit


def test_plaintext_adds_nothing() -> None:
    assert admin_options(probe_settings("k:9092", "p.")) == {}


def test_sasl_ssl_carries_mechanism_credentials_and_tls() -> None:
    options = admin_options(
        probe_settings(
            "k:9093",
            "p.",
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="svc",
            kafka_sasl_password="s3cr3t-value",
        )
    )
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "svc"
    assert options["sasl_plain_password"] == "s3cr3t-value"
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_ssl_without_sasl_and_sasl_plaintext_without_tls() -> None:
    tls = admin_options(probe_settings("k:9093", "p.", kafka_security_protocol="SSL"))
    assert set(tls) == {"security_protocol", "ssl_context"}
    plain = admin_options(
        probe_settings(
            "k:9093",
            "p.",
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_username="svc",
            kafka_sasl_password="s3cr3t-value",
        )
    )
    assert plain["sasl_mechanism"] == "PLAIN"
    assert "ssl_context" not in plain
