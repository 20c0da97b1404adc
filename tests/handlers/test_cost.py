"""CostTracker: prices from genai-prices and custom tables, cached/reasoning tokens, unknown models."""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from llmhooks import CostLimiter, CostTracker, LLMEndEvent, MissingExtraError, callbacks_context
from llmhooks.handlers.cost import Price
from llmhooks.testing import RecordingCallbacks

from .calls import allm_call, in_tasks, in_threads, llm_call

genai_prices = pytest.importorskip("genai_prices")


def table_price(model: str, provider: str, **usage: int) -> float:
    """The cost genai-prices itself computes for ``usage``."""
    calc = genai_prices.calc_price(genai_prices.Usage(**usage), model, provider_id=provider)
    return float(calc.total_price)


def test_openai_cost_with_cached_tokens_matches_price_table() -> None:
    """gpt-4o: cached input at $1.25/M, the rest at $2.50/M, output at $10/M."""
    tracker = CostTracker()
    rec = RecordingCallbacks()
    llm_call(
        [tracker, rec],
        provider="openai",
        model="gpt-4o",
        input_tokens=10_000,
        cached=4_000,
        output_tokens=1_000,
    )
    expected = (6_000 * 2.50 + 4_000 * 1.25 + 1_000 * 10.0) / 1e6
    assert tracker.total_cost == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(
        table_price("gpt-4o", "openai", input_tokens=10_000, cache_read_tokens=4_000, output_tokens=1_000)
    )
    assert rec.of_type(LLMEndEvent)[0].cost == pytest.approx(expected, rel=1e-9)


def test_anthropic_cost_with_cached_tokens_matches_price_table() -> None:
    """claude-3-5-sonnet: cache reads at $0.30/M, input $3/M, output $15/M."""
    tracker = CostTracker()
    llm_call(
        tracker,
        provider="anthropic",
        model="claude-3-5-sonnet-20241022",
        input_tokens=10_000,
        cached=4_000,
        output_tokens=1_000,
    )
    expected = (6_000 * 3.0 + 4_000 * 0.30 + 1_000 * 15.0) / 1e6
    assert tracker.total_cost == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(
        table_price(
            "claude-3-5-sonnet",
            "anthropic",
            input_tokens=10_000,
            cache_read_tokens=4_000,
            output_tokens=1_000,
        )
    )


def test_anthropic_input_reported_without_cache_is_priced_the_same() -> None:
    """Anthropic's own convention (input_tokens excludes cache reads) gives the same cost."""
    openai_style, anthropic_style = CostTracker(), CostTracker()
    llm_call(
        openai_style,
        provider="anthropic",
        model="claude-sonnet-4-5",
        input_tokens=6_000,
        cached=5_000,
        output_tokens=100,
    )
    llm_call(
        anthropic_style,
        provider="anthropic",
        model="claude-sonnet-4-5",
        input_tokens=1_000,
        cached=5_000,
        output_tokens=100,
    )
    assert anthropic_style.total_cost == pytest.approx(openai_style.total_cost, rel=1e-12)
    assert openai_style.total_cost == pytest.approx(
        table_price(
            "claude-sonnet-4-5", "anthropic", input_tokens=6_000, cache_read_tokens=5_000, output_tokens=100
        )
    )


def test_reasoning_tokens_billed_as_output() -> None:
    """o3-mini: reasoning tokens are part of output and cost the output price."""
    tracker = CostTracker()
    llm_call(
        tracker, provider="openai", model="o3-mini", input_tokens=1_000, output_tokens=2_000, reasoning=1_500
    )
    assert tracker.total_cost == pytest.approx((1_000 * 1.10 + 2_000 * 4.40) / 1e6, rel=1e-9)
    assert tracker.by_model["o3-mini"]["reasoning_tokens"] == 1_500


def test_tiered_price_above_threshold_matches_price_table() -> None:
    """claude-sonnet-4-5 over 200k input tokens uses the higher tier, as the table says."""
    tracker = CostTracker()
    llm_call(
        tracker,
        provider="anthropic",
        model="claude-sonnet-4-5",
        input_tokens=300_000,
        cached=100_000,
        output_tokens=2_000,
    )
    assert tracker.total_cost == pytest.approx(
        table_price(
            "claude-sonnet-4-5",
            "anthropic",
            input_tokens=300_000,
            cache_read_tokens=100_000,
            output_tokens=2_000,
        ),
        rel=1e-9,
    )


def test_every_openai_and_anthropic_model_agrees_with_calc_price() -> None:
    """The cached per-model rates give exactly what calc_price gives, for random usage."""
    rng = random.Random(7)
    tracker = CostTracker()
    snapshot = genai_prices.data_snapshot.get_snapshot()
    checked = 0
    for provider in snapshot.providers:
        if provider.id not in ("openai", "anthropic"):
            continue
        for model in provider.models:
            for _ in range(3):
                i = rng.randint(0, 400_000)
                c, o = rng.randint(0, i // 2), rng.randint(0, 40_000)
                r = rng.randint(0, o)
                try:
                    expected = table_price(
                        model.id,
                        provider.id,
                        input_tokens=i,
                        cache_read_tokens=c,
                        output_tokens=o,
                        output_reasoning_tokens=r,
                    )
                except (LookupError, ValueError):
                    continue
                got = tracker.pricer.cost(provider.id, model.id, i, o, c, None, r, time.time())
                assert got is not None, model.id
                assert got.usd == pytest.approx(expected, rel=1e-9, abs=1e-12), model.id
                checked += 1
    assert checked > 100


def test_cost_is_set_on_the_event_for_later_handlers() -> None:
    """A handler after the tracker sees event.cost and where the price came from."""
    seen: list[tuple[float | None, dict[str, object]]] = []

    class Reader(RecordingCallbacks):
        def on_llm_end(self, event: LLMEndEvent) -> None:
            seen.append((event.cost, dict(event.metadata.get("cost", {}))))

    llm_call([CostTracker(), Reader()], model="gpt-4o", input_tokens=1_000, output_tokens=100)
    cost, info = seen[0]
    assert cost == pytest.approx((1_000 * 2.5 + 100 * 10) / 1e6)
    assert info["usd"] == cost
    assert str(info["source"]).startswith("genai-prices ")
    assert "price_date" in info and info["provider"] == "openai" and info["model"] == "gpt-4o"


def test_historic_price_chosen_by_call_date() -> None:
    """An event from before a price change is priced at the price of its day."""
    tracker = CostTracker()
    when = datetime(2024, 6, 1, tzinfo=UTC)
    event = LLMEndEvent(
        provider="anthropic",
        model="claude-3-opus",
        input_tokens=1_000,
        output_tokens=100,
        timestamp=when.timestamp(),
    )
    tracker.on_llm_end(event)
    calc = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=1_000, output_tokens=100),
        "claude-3-opus",
        provider_id="anthropic",
        genai_request_timestamp=when,
    )
    assert event.cost == pytest.approx(float(calc.total_price), rel=1e-9)


def test_unknown_model_cost_is_none_and_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    """A model in no table: cost None (never 0), one warning however many calls."""
    tracker = CostTracker()
    rec = RecordingCallbacks()
    with caplog.at_level(logging.WARNING, logger="llmhooks.cost"):
        for _ in range(3):
            llm_call([tracker, rec], provider="acme", model="acme-9000")
    assert [e.cost for e in rec.of_type(LLMEndEvent)] == [None, None, None]
    assert tracker.unpriced_count == 3 and tracker.request_count == 3
    assert tracker.by_model["acme-9000"]["unpriced_requests"] == 3
    warnings = [r for r in caplog.records if "acme-9000" in r.getMessage()]
    assert len(warnings) == 1


def test_custom_price_table_for_own_models() -> None:
    """prices= prices a private model; exact names, provider/model and prefix* keys."""
    tracker = CostTracker(
        prices={
            "my-model": {
                "input": 1.0,
                "output": 2.0,
                "cached_input": 0.5,
                "source": "contract",
                "date": "2026-01-01",
            },
            "local/llama*": Price(input=0.0, output=0.0),
        }
    )
    rec = RecordingCallbacks()
    llm_call(
        [tracker, rec],
        provider="acme",
        model="my-model",
        input_tokens=1_000_000,
        cached=500_000,
        output_tokens=1_000_000,
    )
    llm_call([tracker, rec], provider="local", model="llama-3-8b")
    first, second = rec.of_type(LLMEndEvent)
    assert first.cost == pytest.approx(0.5 * 1.0 + 0.5 * 0.5 + 2.0)
    assert first.metadata["cost"]["source"] == "contract"
    assert first.metadata["cost"]["price_date"] == "2026-01-01"
    assert second.cost == 0.0


def test_custom_price_overrides_the_table() -> None:
    """A negotiated price for a public model wins over genai-prices."""
    tracker = CostTracker(prices={"openai/gpt-4o": {"input": 1.0, "output": 1.0}})
    llm_call(tracker, model="gpt-4o", input_tokens=1_000_000, output_tokens=0)
    assert tracker.total_cost == pytest.approx(1.0)


@pytest.mark.parametrize(
    "entry",
    [{"input": 1.0}, {"input": -1, "output": 1}, {"input": 1, "output": 1, "cache": 1}, "cheap"],
)
def test_malformed_price_entry_raises_at_construction(entry: object) -> None:
    """A bad prices= entry is refused when the tracker is built, naming the model."""
    with pytest.raises((ValueError, TypeError), match="my-model"):
        CostTracker(prices={"my-model": entry})  # type: ignore[dict-item]


def test_missing_genai_prices_raises_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without genai-prices (and no own table) construction says what to install."""
    monkeypatch.setitem(sys.modules, "genai_prices", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'llmhooks\[prices\]'"):
        CostTracker()
    tracker = CostTracker(prices={"m": {"input": 1, "output": 1}})
    llm_call(tracker, model="m", input_tokens=1_000_000, output_tokens=0)
    assert tracker.total_cost == pytest.approx(1.0)


def test_cost_reported_by_producer_is_kept() -> None:
    """An end event that already carries a cost keeps it."""
    tracker = CostTracker()
    llm_call(tracker, model="gpt-4o", cost=0.5)
    assert tracker.total_cost == 0.5


def test_totals_and_reset() -> None:
    """total_cost, total_tokens, request_count and per model; reset() clears them."""
    tracker = CostTracker()
    llm_call(tracker, model="gpt-4o", input_tokens=100, output_tokens=20)
    llm_call(tracker, model="gpt-4o-mini", input_tokens=50, output_tokens=10)
    assert tracker.request_count == 2
    assert tracker.total_tokens == 180
    assert set(tracker.by_model) == {"gpt-4o", "gpt-4o-mini"}
    assert tracker.snapshot()["total_cost"] == pytest.approx(tracker.total_cost)
    tracker.reset()
    assert (tracker.total_cost, tracker.request_count, tracker.by_model) == (0.0, 0, {})


def test_50_concurrent_calls_in_threads() -> None:
    """50 overlapping calls in threads: every cost counted once."""
    tracker = CostTracker()
    results = in_threads(
        50,
        lambda i: llm_call(
            tracker, model="gpt-4o", input_tokens=1_000, output_tokens=100, body=lambda: time.sleep(0.001)
        ),
    )
    assert not [r for r in results if isinstance(r, BaseException)]
    assert tracker.request_count == 50
    assert tracker.total_cost == pytest.approx(50 * (1_000 * 2.5 + 100 * 10) / 1e6, rel=1e-9)


async def test_50_concurrent_calls_in_tasks() -> None:
    """50 overlapping calls as asyncio tasks: every cost counted once."""
    import asyncio

    tracker = CostTracker()
    with callbacks_context([tracker]):
        results = await in_tasks(
            50,
            lambda i: allm_call(
                model="claude-3-5-sonnet",
                provider="anthropic",
                input_tokens=1_000,
                output_tokens=100,
                body=lambda: asyncio.sleep(0.001),
            ),
        )
    assert not [r for r in results if isinstance(r, BaseException)]
    assert tracker.request_count == 50
    assert tracker.total_cost == pytest.approx(50 * (1_000 * 3 + 100 * 15) / 1e6, rel=1e-9)


def test_price_table_is_read_when_the_tracker_is_built() -> None:
    """In a fresh process, building CostTracker or CostLimiter loads genai-prices; the first call, nothing.

    Loading it inside the first call added 150-290 ms to that call's reported latency.
    """
    code = (
        "import sys\n"
        "from llmhooks import CostLimiter, CostTracker, llm_run\n"
        "assert 'genai_prices' not in sys.modules\n"
        "handlers = [CostTracker(), CostLimiter(max_cost=10.0)]\n"
        "before = {m for m in sys.modules if m.startswith('genai_prices')}\n"
        "with llm_run(provider='openai', model='gpt-4o', prompt='hi', callbacks=handlers) as run:\n"
        "    run.finish(response='ok', input_tokens=10, output_tokens=1)\n"
        "after = {m for m in sys.modules if m.startswith('genai_prices')}\n"
        "print(bool(before), sorted(after - before), handlers[0].total_cost > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "[]", "True"]


def test_unknown_model_is_warned_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    """Several trackers and a limiter seeing the same unknown model: one warning in all."""
    model = f"acme-{random.getrandbits(40):x}"  # a name no earlier test has warned about
    handlers = [CostTracker(), CostTracker(), CostLimiter(max_cost=1.0)]
    with caplog.at_level(logging.WARNING, logger="llmhooks.cost"):
        for h in handlers:
            for _ in range(3):
                llm_call(h, provider="acme", model=model)
    assert len([r for r in caplog.records if model in r.getMessage()]) == 1


def test_priced_model_without_usage_is_not_called_unpriced(caplog: pytest.LogCaptureFixture) -> None:
    """A gpt-4o call that reported no usage: the warning says so, not 'no price for .../gpt-4o'."""
    provider = f"gateway-{random.getrandbits(40):x}"  # a proxy name: priced by model, warned afresh
    tracker = CostTracker()
    with caplog.at_level(logging.WARNING, logger="llmhooks.cost"):
        llm_call(tracker, provider=provider, model="gpt-4o", input_tokens=1000, output_tokens=10)
        assert tracker.total_cost > 0 and caplog.records == []
        llm_call(tracker, provider=provider, model="gpt-4o", input_tokens=None, output_tokens=None)
    (message,) = [r.getMessage() for r in caplog.records if provider in r.getMessage()]
    assert "no price" not in message
    assert f"{provider}/gpt-4o calls reported no token usage" in message
    assert tracker.unpriced_count == 1


def test_unknown_model_lookups_are_cached_across_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown model is looked up in genai-prices once per process and day, misses included."""
    from llmhooks.handlers import _genai_prices

    lookups: list[str] = []
    real = _genai_prices.resolve

    def counting(provider: str | None, model: str, timestamp: float | None) -> object:
        lookups.append(model)
        return real(provider, model, timestamp)

    monkeypatch.setattr(_genai_prices, "resolve", counting)
    model = f"nobody-{random.getrandbits(40):x}"
    for handler in (CostTracker(), CostTracker(), CostLimiter(max_cost=1.0)):
        for _ in range(5):
            llm_call(handler, provider="acme", model=model)
    assert lookups == [model]


def test_per_model_table_and_caches_are_bounded() -> None:
    """5,000 distinct model names: by_model keeps 10 plus "(other)"; price caches stay under their cap."""
    from llmhooks.handlers import _pricing

    tracker = CostTracker(prices={"m*": {"input": 1.0, "output": 1.0}}, max_models=10)
    end = tracker.on_llm_end
    for i in range(5_000):
        end(LLMEndEvent(provider="local", model=f"m-{i}", input_tokens=1_000_000, output_tokens=0))
    assert len(tracker.by_model) == 11 and tracker.by_model["(other)"]["requests"] == 4_990
    assert tracker.request_count == 5_000 and tracker.total_cost == pytest.approx(5_000.0)
    assert len(tracker.pricer._cache) <= _pricing.CACHE_MAX
    assert len(_pricing._shared) <= _pricing.CACHE_MAX


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_models": 0}, ValueError, "max_models must be >= 1, got 0"),
        ({"max_models": "100"}, TypeError, r"max_models must be an integer, got '100' \(str\)"),
        ({"use_genai_prices": "no"}, TypeError, "use_genai_prices must be True or False"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs: dict[str, object], error: type, message: str) -> None:
    """Arguments are checked when the tracker is built, naming the argument and what it takes."""
    with pytest.raises(error, match=message):
        CostTracker(**kwargs)  # type: ignore[arg-type]


def test_price_table_of_the_wrong_kind_is_named() -> None:
    """A list where the price table belongs: a TypeError saying what it must be."""
    with pytest.raises(TypeError, match="prices must be a dict of model name"):
        CostTracker(prices=[("gpt-4o", 1.0)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prices must be a dict of model name"):
        CostLimiter(max_cost=1.0, prices="cheap")  # type: ignore[arg-type]


def test_warned_models_are_bounded_with_one_line_saying_so() -> None:
    """Past WARN_MAX unknown models, one line says further ones are not logged; nothing more grows."""
    code = (
        "import logging, sys\n"
        "from llmhooks import CostTracker, LLMEndEvent\n"
        "from llmhooks.handlers import _pricing\n"
        "logging.basicConfig(stream=sys.stdout, format='%(message)s')\n"
        "tracker = CostTracker()\n"
        "tracker.on_llm_end(LLMEndEvent(provider=None, model=None, input_tokens=1))\n"
        "for i in range(_pricing.WARN_MAX + 50):\n"
        "    tracker.on_llm_end(LLMEndEvent(provider='acme', model=f'm{i}', input_tokens=1))\n"
        "print(len(_pricing._warned))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert int(lines[-1]) == 1000
    assert sum("no price for acme/" in line for line in lines) == 999  # plus the call without a model
    assert sum("further ones are not logged" in line for line in lines) == 1


def test_realtime_audio_tokens_priced_at_audio_rates() -> None:
    """gpt-realtime: audio in at $32/M and out at $64/M, text at $4/M and $16/M, as genai-prices says."""
    tracker = CostTracker()
    rec = RecordingCallbacks()
    llm_call(
        [tracker, rec],
        model="gpt-realtime",
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        input_audio_tokens=600_000,
        output_audio_tokens=400_000,
    )
    [end] = rec.of_type(LLMEndEvent)
    expected = table_price(
        "gpt-realtime",
        "openai",
        input_tokens=1_000_000,
        input_audio_tokens=600_000,
        output_tokens=1_000_000,
        output_audio_tokens=400_000,
    )
    assert expected == pytest.approx(600_000 * 32e-6 + 400_000 * 4e-6 + 400_000 * 64e-6 + 600_000 * 16e-6)
    assert end.cost == pytest.approx(expected, rel=1e-9)
    assert end.metadata["cost"]["input_usd"] == pytest.approx(20.8)
    assert end.metadata["cost"]["output_usd"] == pytest.approx(35.2)


def test_every_realtime_model_agrees_with_calc_price_on_audio() -> None:
    """Random text, audio and cached usage on every OpenAI realtime model: exactly calc_price's cost."""
    rng = random.Random(11)
    tracker = CostTracker()
    snapshot = genai_prices.data_snapshot.get_snapshot()
    [openai_prices] = [p for p in snapshot.providers if p.id == "openai"]
    models = [m.id for m in openai_prices.models if "realtime" in m.id]
    assert models
    for model in models:
        for _ in range(5):
            i, o = rng.randint(10, 200_000), rng.randint(10, 50_000)
            ai, ao = rng.randint(0, i), rng.randint(0, o)
            c = rng.randint(0, i - ai)  # cached text tokens: the protocol's cached audio count is not kept
            expected = table_price(
                model,
                "openai",
                input_tokens=i,
                input_audio_tokens=ai,
                cache_read_tokens=c,
                cache_audio_read_tokens=0,
                output_tokens=o,
                output_audio_tokens=ao,
            )
            got = tracker.pricer.cost("openai", model, i, o, c, None, None, time.time(), ai, ao)
            assert got is not None and got.usd == pytest.approx(expected, rel=1e-9, abs=1e-12), model


def test_custom_audio_prices() -> None:
    """``Price(input_audio=..., output_audio=...)``; without them audio tokens are priced as text."""
    tracker = CostTracker(
        prices={
            "voice": Price(input=1.0, output=2.0, input_audio=10.0, output_audio=20.0),
            "plain": {"input": 1.0, "output": 2.0},
        }
    )
    rec = RecordingCallbacks()
    for model in ("voice", "plain"):
        llm_call(
            [tracker, rec],
            provider="acme",
            model=model,
            input_tokens=1_000_000,
            output_tokens=1_000_000,
            input_audio_tokens=500_000,
            output_audio_tokens=250_000,
        )
    voice, plain = rec.of_type(LLMEndEvent)
    assert voice.cost == pytest.approx(0.5 * 1 + 0.5 * 10 + 0.75 * 2 + 0.25 * 20)
    assert plain.cost == pytest.approx(1.0 + 2.0)
    with pytest.raises(
        ValueError, match=r"prices\['bad'\]\.input_audio must be a finite number >= 0, got -1"
    ):
        CostTracker(prices={"bad": {"input": 1, "output": 1, "input_audio": -1}})
