"""A tiny name -> entry registry, used once for models and once for datasets.

Adding a model or a dataset is one new module plus one ``register`` call in it.
"""
from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from ganplay.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str):
        self._what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self._what} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            allowed = ", ".join(sorted(self._entries))
            raise ConfigError(f"unknown {self._what} {name!r}; choose one of: {allowed}") from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
