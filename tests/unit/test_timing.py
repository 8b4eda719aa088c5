"""advreg.base.timing: the one timer of the cost model's calibration and the benchmarks."""
import time

from advreg.base.timing import seconds_per_call


def test_warmup_calls_are_not_timed_and_the_median_round_is_returned():
    durations = iter([0.2, 0.2, 0.001, 0.001, 0.03, 0.03, 0.002, 0.002])  # 2 warm-up, 3 rounds × 2
    calls = []

    def fn():
        calls.append(1)
        time.sleep(next(durations))

    t = seconds_per_call(fn, "cpu", calls=2, rounds=3, warmup=2)
    assert len(calls) == 8
    # rounds of 1, 30 and 2 ms a call: the median round is 2 ms; the 200 ms warm-up is not in it
    assert 0.0015 < t < 0.015
