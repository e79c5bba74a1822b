"""The one exception type of the data layer."""


class DataError(ValueError):
    """A data set is missing, malformed or inconsistent.

    The message is one line: what is wrong (naming the file or data set) and what to do about it.
    """
