"""How every Kafka client authenticates: nothing by default, SASL/SCRAM when it is configured."""

from __future__ import annotations

from typing import Any

from aiokafka.helpers import create_ssl_context
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from shared.settings import CommonSettings


def sasl_password(settings: CommonSettings) -> str:
    """The SCRAM password: the setting, else the local stack's generated file."""
    if settings.kafka_sasl_password is not None:
        return settings.kafka_sasl_password.get_secret_value()
    try:
        return settings.kafka_password_file.read_text("utf-8").strip()
    except FileNotFoundError:
        raise RuntimeError(
            "LANDSYNC_KAFKA_SASL_MECHANISM is set but there is no LANDSYNC_KAFKA_SASL_PASSWORD"
            f" and no {settings.kafka_password_file} (landsync up writes it)"
        ) from None


def client_options(settings: CommonSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's producer, consumer and admin client."""
    if settings.kafka_sasl_mechanism is None:
        return {}
    options: dict[str, Any] = {
        "security_protocol": "SASL_SSL" if settings.kafka_sasl_tls else "SASL_PLAINTEXT",
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": sasl_password(settings),
    }
    if settings.kafka_sasl_tls:
        options["ssl_context"] = create_ssl_context()
    return options


def broker_security(settings: CommonSettings) -> BaseSecurity | None:
    """FastStream's equivalent of :func:`client_options`, for ``KafkaBroker(security=…)``."""
    if settings.kafka_sasl_mechanism is None:
        return None
    scram = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(
        settings.kafka_sasl_username,
        sasl_password(settings),
        ssl_context=create_ssl_context() if settings.kafka_sasl_tls else None,
        use_ssl=settings.kafka_sasl_tls,
    )
