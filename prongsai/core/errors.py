"""Errors a user can fix: printed as one line with a non-zero exit, never a traceback."""
import click


class UserError(click.ClickException):
    """Bad input or a refused operation; the message names what was wrong."""
