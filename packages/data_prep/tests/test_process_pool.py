"""The local worker processes (process_pool.py): same results as one process, clear failure."""

from __future__ import annotations

import multiprocessing

import pytest
from segmentation_data_prep import process_pool
from segmentation_data_prep.inputs import Pair, list_inputs
from segmentation_data_prep.processing import ProcessingSettings, process_pair
from segmentation_data_prep.synthetic import write_synthetic_pet_dataset

SETTINGS = ProcessingSettings(32, 0.2)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> list[Pair]:
    """13 pairs (not a multiple of the batch size) and one whose image file is gone."""
    root = write_synthetic_pet_dataset(tmp_path_factory.mktemp("pool"), 13, seed=5)
    listed = list_inputs(str(root)).pairs
    missing = Pair("gone", str(root / "images" / "gone.jpg"), listed[6].mask_path)
    return [*listed[:6], missing, *listed[6:]]


def test_results_come_back_in_order_and_equal_to_one_process(pairs):
    pool = process_pool.start(2)
    try:
        results = list(process_pool.process_pairs(pairs, SETTINGS, pool, 2))
    finally:
        pool.shutdown()
    assert results == [process_pair(pair, SETTINGS) for pair in pairs]
    assert [outcome.stem for outcome, _ in results] == [pair.stem for pair in pairs]
    assert results[6][0].reason == "unreadable_image" and results[6][1] is None


def test_a_killed_worker_fails_naming_the_examples_in_flight_and_the_way_out(pairs):
    pool = process_pool.start(2)
    try:
        assert len(list(process_pool.process_pairs(pairs[:2], SETTINGS, pool, 2))) == 2
        workers = multiprocessing.active_children()
        assert len(workers) == 2
        for worker in workers:
            worker.kill()
        with pytest.raises(RuntimeError, match="worker process died") as error:
            list(process_pool.process_pairs(pairs, SETTINGS, pool, 2))
    finally:
        pool.shutdown()
    assert pairs[0].stem in str(error.value)
    assert "--local-processes 1" in str(error.value)
