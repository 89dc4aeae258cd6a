"""Each provider is given its group of the settings, never the whole environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from entrypoints import ioc
from entrypoints.setting_groups import (
    AuthSettings,
    DatabaseSettings,
    ExternalTokenSettings,
    HttpSettings,
    LimitSettings,
    MailSettings,
)
from entrypoints.settings import Settings
from tests.support.app import make_settings

GROUPS = {
    AuthSettings,
    DatabaseSettings,
    ExternalTokenSettings,
    HttpSettings,
    LimitSettings,
    MailSettings,
}
# Besides the groups, only the signing secret reads the environment as a whole: it needs the
# app's mode, the configured secret and the data folder together, to refuse to start or make one.
WHOLE_SETTINGS_ALLOWED = {*GROUPS, ioc.SigningSecret}


def test_providers_ask_for_a_group_not_the_whole_settings() -> None:
    readers = set()
    for provider in (ioc.CoreProvider(), ioc.PostgresProvider(), ioc.MemoryProvider()):
        for factory in provider.factories:
            needs = [key.type_hint for key in factory.dependencies]
            needs += [key.type_hint for key in factory.kw_dependencies.values()]
            if Settings in needs:
                readers.add(factory.provides.type_hint)
    assert DatabaseSettings in readers  # the check sees what providers ask for
    assert readers <= WHOLE_SETTINGS_ALLOWED, readers - WHOLE_SETTINGS_ALLOWED


def test_groups_carry_the_environment_they_stand_for() -> None:
    settings = make_settings(
        "postgres",
        "postgresql://db/todo",
        database_pool_size=7,
        jwt_expiration_hours=0.5,
        refresh_token_expiration_days=2,
        api_rate_limit="9/minute",
        max_tasks_per_user=3,
        password_reset_minutes=10,
        data_dir="/srv/todo",
        trusted_proxies="10.0.0.0/8",
        cors_origins="https://app.example",
    )
    assert DatabaseSettings.of(settings).url == "postgresql://db/todo"
    assert DatabaseSettings.of(settings).pool_size == 7
    auth = AuthSettings.of(settings)
    assert auth.access_token_seconds == 1800
    assert auth.refresh_lifetime == timedelta(days=2)
    limits = LimitSettings.of(settings)
    assert (limits.api_requests, limits.max_tasks) == ("9/minute", 3)
    mail = MailSettings.of(settings)
    assert mail.reset_lifetime == timedelta(minutes=10)
    assert mail.outbox == Path("/srv/todo/outbox")
    http = HttpSettings.of(settings)
    assert http.cors_origins == ("https://app.example",)
    assert [str(n) for n in http.trusted_proxies] == ["10.0.0.0/8"]
