"""Linear KL warm-up (LVAE eq. 20)."""


def linear_warmup(epoch: int, warmup_epochs: int) -> float:
    """beta for the 1-based `epoch`: rises linearly from 1/N_t to 1 over N_t epochs, then stays at 1.

    warmup_epochs = 0 turns warm-up off (beta = 1 throughout).
    """
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
    if warmup_epochs == 0:
        return 1.0
    return min(1.0, epoch / warmup_epochs)
