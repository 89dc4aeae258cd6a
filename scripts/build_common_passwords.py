"""Regenerate adapters/security/common_passwords.txt from the list the zxcvbn package ships.

Only entries that the length rule would not already reject are kept.
"""

from __future__ import annotations

from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

from domain.users import PASSWORD_MIN_LENGTH

TARGET = Path(__file__).resolve().parent.parent / "adapters" / "security" / "common_passwords.txt"


def main() -> None:
    words = [w for w in FREQUENCY_LISTS["passwords"] if len(w) >= PASSWORD_MIN_LENGTH]
    TARGET.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} passwords written to {TARGET.name}")


if __name__ == "__main__":
    main()
