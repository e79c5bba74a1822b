"""The training loop's own error."""


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss keeps being NaN); the message says what to change."""
