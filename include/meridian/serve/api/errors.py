"""Errors a client can act on: the HTTP status, the parameter at fault (or None), and what was wrong."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, message: str, parameter: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter
        self.headers = headers or {}

    def body(self) -> dict:
        return {"success": False, "error": {"parameter": self.parameter, "message": self.message}}


def bad_parameter(parameter: str, message: str) -> ApiError:
    return ApiError(400, message, parameter)
