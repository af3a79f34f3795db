"""Counts in words for what the CLI, the batch and the demo print: "1 retry", "2 retries"."""


def counted(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"
