"""`make bench` / `python -m bench`: run every benchmark and print its figures."""

from __future__ import annotations

import asyncio

from bench import uploads


def main() -> None:
    asyncio.run(uploads.main())


if __name__ == "__main__":
    main()
