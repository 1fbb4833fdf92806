from __future__ import annotations


class ServiceError(Exception):
    """A refused write; ``field`` names the input at fault, ``message`` says why.

    Pages show ``message`` next to ``field``; the API answers 422 with
    ``{"details": {field: [{"description": message}]}}``.
    """

    def __init__(self, message: str, *, field: str = "base", code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
