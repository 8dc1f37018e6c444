"""Errors that the workflow reports to the user as one readable line."""


class InputError(ValueError):
    """Bad user input (a file, a table or a config value).

    The message names the file or key and the problem; rule scripts print it as one line
    and exit non-zero instead of showing a traceback.
    """
