"""One registered user and the little the tests need of the tasks API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.app import bearer

Json = dict[str, Any]


class Caller:
    def __init__(self, client: httpx.AsyncClient, pair: Json) -> None:
        self.client = client
        self.pair = pair
        self.auth = bearer(pair)

    @property
    def user_id(self) -> str:
        return str(self.pair["user"]["id"])

    async def create(self, **fields: Any) -> Json:
        response = await self.client.post(
            "/api/tasks", json={"title": "A task", **fields}, headers=self.auth
        )
        assert response.status_code == 201, response.text
        task: Json = response.json()
        return task
