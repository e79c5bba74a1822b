"""A fixture that runs a test on one torch thread: the flow tests use small tensors, for which a second
thread gains nothing and, on a busy machine, costs many times the work in waiting."""

import pytest
import torch


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
