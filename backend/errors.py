"""Errors a user can act on: the CLI prints their message on one line, the API maps them to status codes."""


class ArtsearchError(Exception):
    """A failure with a message that says what to do; never shown as a traceback."""
