from __future__ import annotations


class ApplicationError(Exception):
    """An expected failure a person can act on: the message is shown to them as it is.

    `code` is a stable machine-readable name (for the API and the texter app's JS);
    `status` is the HTTP status a view answers with.
    """

    def __init__(self, message: str, *, code: str = "invalid", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
