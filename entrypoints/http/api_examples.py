"""Examples for every request and response shape of the OpenAPI document, by component name
(tests check that the server accepts the request ones and answers in the response ones' shape)."""

from __future__ import annotations

from typing import Any

_USER = {
    "id": "0192f5e4-7c1a-7b3e-9d2f-3a4b5c6d7e8f",
    "email": "ada@example.com",
    "name": "Ada",
    "created_at": "2026-01-15T09:30:00Z",
}
_TASK = {
    "id": "0192f5e5-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
    "title": "Buy milk",
    "description": "Semi-skimmed, two litres",
    "due_date": "2026-03-01",
    "priority": "high",
    "starred": True,
    "completed": False,
    "completed_at": None,
    "tags": ["errands", "home"],
    "category": "personal",
    "user_id": _USER["id"],
    "created_at": "2026-02-20T08:00:00Z",
    "updated_at": "2026-02-20T08:00:00Z",
    "version": 1,
}
_PAIR = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
    "token_type": "bearer",
    "expires_in": 900,
    "refresh_token": "Zr8sQ2VdM0x6bXl3cF9ZdEJxN0hnS3pXbEVkUmFOb1U",
    "refresh_expires_in": 1209600,
    "user": _USER,
}
# Component name -> examples (every request and response shape has one).
EXAMPLES: dict[str, list[Any]] = {
    "TaskCreate": [
        {
            "title": "Buy milk",
            "description": "Semi-skimmed, two litres",
            "due_date": "2026-03-01",
            "priority": "high",
            "starred": True,
            "tags": ["errands", "home"],
            "category": "personal",
        }
    ],
    "TaskUpdate": [{"title": "Buy oat milk", "due_date": None, "tags": ["errands"]}],
    "CompletionBody": [{"completed": True}],
    "TaskRead": [_TASK],
    "DeletedCount": [{"deleted": 3}],
    "RegisterBody": [{"email": "ada@example.com", "password": "analytical engine", "name": "Ada"}],
    "LoginBody": [{"email": "ada@example.com", "password": "analytical engine"}],
    "RefreshBody": [{"refresh_token": _PAIR["refresh_token"]}],
    "LogoutBody": [{"refresh_token": _PAIR["refresh_token"]}],
    "TokenPairRead": [_PAIR],
    "UserRead": [_USER],
    "ProfileBody": [{"name": "Ada Lovelace"}],
    "PasswordChangeBody": [
        {"current_password": "analytical engine", "new_password": "difference engine no. 2"}
    ],
    "AccountDeletionBody": [{"password": "analytical engine"}],
    "PasswordResetBody": [{"email": "ada@example.com"}],
    "PasswordResetConfirmBody": [
        {
            "token": "q3Jx0aV9kT2mWcYb7sLuE4hN8pRfZ1oD6iGyKtMwBnA",
            "new_password": "difference engine",
        }
    ],
    "ResetRequested": [
        {"message": "If an account uses that email, a link to reset its password is on its way."}
    ],
    "Health": [{"status": "ok"}],
    "Problem": [
        {
            "type": "https://todo.dev/problems/validation",
            "title": "Request validation failed",
            "status": 422,
            "detail": "title must not be blank; priority must be one of low, medium, high",
            "instance": "/api/v1/tasks",
            "request_id": "5f0c6a1e9b2d4c7f8a3e1d0b6c9f2a4e",
            "errors": [
                {"field": "title", "message": "must not be blank"},
                {"field": "priority", "message": "must be one of low, medium, high"},
            ],
        }
    ],
}
