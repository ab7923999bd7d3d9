from __future__ import annotations

import pytest

from engine.scale import ScaleConfig, ScaleConfigError


def test_default_is_the_embedded_threads_backend() -> None:
    config = ScaleConfig.from_value(None)
    assert config.backend == "threads"
    assert not config.uses_ray
    assert config.actors == 1


def test_a_full_ray_table_is_accepted() -> None:
    config = ScaleConfig.from_value(
        {
            "backend": "ray",
            "actors": 4,
            "address": "auto",
            "cpus_per_actor": 0.5,
            "max_policy_lag": 3,
            "max_unsent_items": 500,
            "max_in_flight_batches": 2,
            "when_behind": "wait",
        }
    )
    assert config.uses_ray
    assert (config.actors, config.address, config.when_behind) == (4, "auto", "wait")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"backend": "dask"},
            'scale.backend: must be "threads" or "ray", got \'dask\'',
        ),
        ({"actors": 0}, "scale.actors: must be an integer >= 1, got 0"),
        ({"actors": True}, "scale.actors: must be an integer >= 1, got True"),
        ({"cpus_per_actor": -1}, "scale.cpus_per_actor: must be a finite number >= 0"),
        ({"when_behind": "block"}, 'scale.when_behind: must be "drop_oldest" or'),
        ({"max_policy_lag": -1}, "scale.max_policy_lag: must be an integer >= 0"),
        ({"address": ""}, 'scale.address: must be "auto", "host:port" or absent'),
        ({"actor": 2}, "scale.actor: unknown key (known: actors, address,"),
        (
            {"batch_items": 100, "max_unsent_items": 10},
            "scale.batch_items: (100) must not exceed max_unsent_items (10)",
        ),
    ],
)
def test_bad_values_get_one_line_errors_naming_the_key(
    table: dict[str, object], message: str
) -> None:
    with pytest.raises(ScaleConfigError) as info:
        ScaleConfig.from_value(table)
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text
