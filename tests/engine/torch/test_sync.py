"""Sync: identity, version and listener, and the agent never waiting on a sync."""

from __future__ import annotations

import threading
from typing import Any

import torch
from torch import nn

from engine.torch import TorchTrainingModel

TIMEOUT = 10.0


def make_model(procedure: Any = None) -> TorchTrainingModel[nn.Linear]:
    torch.manual_seed(0)
    kwds = {} if procedure is None else {"inference_procedure": procedure}
    return TorchTrainingModel(nn.Linear(4, 4), **kwds)


def set_weights(model: TorchTrainingModel[nn.Linear], value: float) -> None:
    with torch.no_grad():
        for p in model.model.parameters():
            p.fill_(value)


def test_sync_publishes_weights_and_keeps_the_training_module() -> None:
    model = make_model()
    module = model.model
    params = list(module.parameters())
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    calls: list[tuple[int, float]] = []
    model.add_sync_listener(lambda m, d: calls.append((m.sync_version, d)))
    for version in (1, 2, 3):
        set_weights(model, float(version))
        model.sync()
        assert model.model is module
        assert all(a is b for a, b in zip(module.parameters(), params, strict=True))
        assert model.sync_version == version
        out = model.inference_model(torch.zeros(1, 4))
        assert torch.equal(out, torch.full((1, 4), float(version)))
    assert [v for v, _ in calls] == [1, 2, 3]
    assert all(d >= 0 for _, d in calls)
    assert model.last_sync_duration is not None
    # The optimizer still drives the training module.
    module(torch.ones(1, 4)).sum().backward()
    optimizer.step()
    assert not torch.equal(module.weight, torch.full((4, 4), 3.0))


def test_sync_keeps_gradients_and_training_mode() -> None:
    model = make_model()
    model.model(torch.ones(1, 4)).sum().backward()
    grad = model.model.weight.grad.clone()
    model.sync()
    assert torch.equal(model.model.weight.grad, grad)
    assert model.model.training


def test_sync_waits_for_a_call_on_the_spare_but_inference_never_waits() -> None:
    entered = threading.Event()
    release = threading.Event()
    holding: list[bool] = []

    def procedure(module: nn.Linear, x: torch.Tensor, hold: bool = False) -> Any:
        if hold:
            holding.append(True)
            entered.set()
            assert release.wait(TIMEOUT)
        return module(x)

    model = make_model(procedure)
    inference = model.inference_model
    inference.max_retired_copies = 1  # strict double buffering
    x = torch.zeros(1, 4)
    held_result: list[torch.Tensor] = []
    holder = threading.Thread(
        target=lambda: held_result.append(inference(x, hold=True)), daemon=True
    )
    set_weights(model, 1.0)
    holder.start()
    assert entered.wait(TIMEOUT)
    held_module = inference._raw_model
    started_with = held_module.bias.detach().clone()

    # First sync writes the other copy: no wait although a call is running.
    model.sync()
    assert inference._raw_model is not held_module
    # The second sync must write the held copy, so it waits for that call...
    set_weights(model, 2.0)
    syncing = threading.Thread(target=model.sync, daemon=True)
    syncing.start()
    syncing.join(0.2)
    assert syncing.is_alive(), "sync overwrote a copy an inference call was using"
    # ...while new inference calls go ahead at once on the current copy.
    assert torch.equal(inference(x), torch.full((1, 4), 1.0))
    release.set()
    syncing.join(TIMEOUT)
    holder.join(TIMEOUT)
    assert not syncing.is_alive() and not holder.is_alive()
    # The held call finished on the weights it started with (x is zero).
    assert torch.equal(held_result[0][0], started_with)
    assert torch.equal(inference(x), torch.full((1, 4), 2.0))
    assert model.sync_version == 2


def test_concurrent_inference_never_sees_torn_weights() -> None:
    # Every sync writes one value into all weights; a torn copy would mix values.
    def procedure(module: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        values = torch.cat([p.flatten() for p in module.parameters()])
        assert torch.all(values == values[0]), "inference saw a half-written copy"
        return values[0]

    model = make_model(procedure)
    set_weights(model, 0.0)
    model.sync()
    inference = model.inference_model
    stop = threading.Event()
    seen: list[float] = []
    errors: list[BaseException] = []
    running = threading.Event()

    def agent() -> None:
        try:
            while not stop.is_set():
                seen.append(float(inference(None)))
                running.set()
        except BaseException as e:
            errors.append(e)
            running.set()

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    assert running.wait(TIMEOUT)
    for value in range(1, 201):
        set_weights(model, float(value))
        model.sync()
    stop.set()
    thread.join(TIMEOUT)
    assert not errors, errors
    assert seen == sorted(seen), "inference went back to older weights"
    assert float(inference(None)) == 200.0


def test_back_to_back_syncs_make_a_third_copy_instead_of_waiting() -> None:
    entered = threading.Event()
    release = threading.Event()

    def procedure(module: nn.Linear, x: torch.Tensor, hold: bool = False) -> Any:
        if hold:
            entered.set()
            assert release.wait(TIMEOUT)
        return module(x)

    model = make_model(procedure)
    inference = model.inference_model
    x = torch.zeros(1, 4)
    holder = threading.Thread(target=inference, args=(x,), kwargs={"hold": True})
    holder.start()
    try:
        assert entered.wait(TIMEOUT)
        held = inference._raw_model
        started_with = [p.detach().clone() for p in held.parameters()]
        copies = set()
        for value in (1.0, 2.0, 3.0, 4.0):
            set_weights(model, value)
            model.sync()  # would hang here if it waited for the held call
            copies.add(id(inference._raw_model))
            assert torch.equal(inference(x), torch.full((1, 4), value))
        assert len(copies | {id(held)}) == 3
        assert all(
            torch.equal(p, q)
            for p, q in zip(held.parameters(), started_with, strict=True)
        )
    finally:
        release.set()
        holder.join(TIMEOUT)


class TwoLayers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(2, 2)
        self.second = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


def test_sync_follows_parameters_replaced_after_earlier_syncs() -> None:
    # Syncs remember which tensors to copy; replacing a parameter or a layer
    # (as load_state_dict(assign=True) or a user's surgery does) must be seen.
    model = TorchTrainingModel(TwoLayers())
    model.sync()
    model.sync()
    module = model.model
    module.first.weight = nn.Parameter(torch.full((2, 2), 5.0))
    model.sync()
    assert torch.equal(
        model.inference_model._raw_model.first.weight, module.first.weight
    )
    module.second = nn.Linear(2, 2)
    model.sync()
    assert torch.equal(
        model.inference_model._raw_model.second.weight, module.second.weight
    )
    module.register_buffer("offset", torch.ones(2))
    model.sync()
    assert torch.equal(model.inference_model._raw_model.offset, torch.ones(2))


def test_sync_makes_a_fresh_copy_when_a_tensor_changes_shape_in_place() -> None:
    model = TorchTrainingModel(TwoLayers())
    model.sync()
    model.sync()
    with torch.no_grad():
        model.model.first.weight.data = torch.full((3, 2), 7.0)
        model.model.first.bias.data = torch.zeros(3)
        model.model.second.weight.data = torch.ones(2, 3)
    model.sync()
    published = model.inference_model._raw_model
    assert published.first.weight.shape == (3, 2)
    assert torch.equal(published.first.weight, torch.full((3, 2), 7.0))
    assert published(torch.ones(1, 2)).shape == (1, 2)


def test_a_module_without_tensors_is_wrapped_and_synced() -> None:
    model = TorchTrainingModel(nn.Identity())
    x = torch.ones(2)
    assert torch.equal(model.inference_model(x), x)
    model.sync()
    assert model.sync_version == 1


def test_sync_follows_a_dtype_change_that_keeps_every_tensor() -> None:
    # module.to(dtype) swaps each tensor's data but keeps the tensor objects:
    # the cached layout must notice (by where the data lives).
    model = TorchTrainingModel(TwoLayers())
    model.sync()
    model.sync()
    model.model.double()
    with torch.no_grad():
        model.model.first.weight.fill_(0.25)
    model.sync()
    published = model.inference_model._raw_model
    assert published.first.weight.dtype == torch.float64
    assert torch.equal(published.first.weight, model.model.first.weight)
    assert published(torch.ones(1, 2, dtype=torch.float64)).dtype == torch.float64
