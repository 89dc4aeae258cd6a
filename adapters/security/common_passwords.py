"""The common-password blocklist shipped beside this module (from zxcvbn's frequency list)."""

from __future__ import annotations

from importlib import resources


class CommonPasswords:
    def __init__(self, words: frozenset[str]) -> None:
        self._words = words

    @classmethod
    def bundled(cls) -> CommonPasswords:
        text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
        return cls(frozenset(line.casefold() for line in text.splitlines() if line))

    def __contains__(self, password: str) -> bool:
        return password.casefold() in self._words

    def __len__(self) -> int:
        return len(self._words)
