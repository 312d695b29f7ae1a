"""The turn predictor on synthetic turns from a known truth (app/predict.py)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from app.predict import CostPredictor, TurnShape, turn_shape
from backends import units
from backends.config import Settings
from backends.pricing import PriceTable
from backends.types import Attachment, Completion, Message
from policies.base import Action

PRICES = PriceTable.load(Path(__file__).resolve().parents[1] / "assets" / "prices.json")
MODEL = "lcio-standin"


def price(prompt: int, new: int, audio: int, image: int) -> float:
    return PRICES.worst_case_cost(MODEL, prompt, new, audio, image)


def random_shape(rng: np.random.Generator, location: str = "cloud") -> TurnShape:
    kind = rng.choice(["text", "image", "audio"])
    images = int(kind == "image") * int(rng.integers(1, 3))
    audio_s = float(rng.uniform(2, 20)) if kind == "audio" else 0.0
    return TurnShape(location, text_bytes=int(rng.integers(20, 3000)), images=images,
                     megapixels=images * float(rng.uniform(0.1, 1.0)), image_tokens=images * 255,
                     audio=int(audio_s > 0), audio_s=audio_s, max_new_tokens=256)


def true_turn(shape: TurnShape, rng: np.random.Generator, noise: float = 0.15,
              slow: float = 1.0) -> Completion:
    """A served turn from a known truth: prompt and answer tokens, perception, decoding speed."""
    prompt = int(40 + 0.27 * shape.text_bytes + 120 * shape.images + 2.5 * shape.audio_s)
    billed = prompt + units.audio_tokens(shape.audio_s)
    answer = int(min(shape.max_new_tokens, rng.normal(140, 15)))
    ttft = 0.4 + 1.2 * shape.images + 0.2 * shape.audio_s + 0.5 * prompt / 1000
    latency = (ttft + 0.03 * answer) * slow * float(np.exp(rng.normal(0, noise)))
    usage = {"prompt_tokens": billed, "completion_tokens": answer,
             "prompt_tokens_details": {"audio_tokens": units.audio_tokens(shape.audio_s)}}
    return Completion("", shape.location, MODEL, ttft_s=min(latency, ttft * slow), latency_s=latency,
                      prompt_tokens=billed, completion_tokens=answer,
                      cost_usd=PRICES.cost(MODEL, usage) if shape.location == "cloud" else 0.0,
                      energy_j=latency * 12.0 if shape.location == "local" else 0.0)


def fitted(turns: int, seed: int = 0, location: str = "cloud") -> CostPredictor:
    rng = np.random.default_rng(seed)
    predictor = CostPredictor(Settings(), price, power_w=lambda: 30.0)
    for _ in range(turns):
        shape = random_shape(rng, location)
        predictor.observe(shape, true_turn(shape, rng))
    return predictor


def relative_errors(predictor: CostPredictor, seed: int, n: int = 200, location: str = "cloud"):
    rng = np.random.default_rng(seed)
    lat, usd, inside = [], [], []
    for _ in range(n):
        shape = random_shape(rng, location)
        p, actual = predictor.predict(shape), true_turn(shape, rng)
        lat.append(abs(p.cost.latency_s - actual.latency_s) / actual.latency_s)
        if location == "cloud":
            usd.append(abs(p.cost.usd - actual.cost_usd) / actual.cost_usd)
        inside.append(p.low.latency_s <= actual.latency_s <= p.high.latency_s)
    return np.median(lat), (np.median(usd) if usd else 0.0), float(np.mean(inside))


def test_fits_synthetic_turns_far_better_than_its_priors() -> None:
    before = relative_errors(fitted(0), seed=99)
    after = relative_errors(fitted(40), seed=99)
    assert after[0] < 0.15 and after[1] < 0.05  # latency within the noise; dollars near exact
    assert after[0] < before[0] / 2 and after[1] < before[1] / 2


def test_answer_length_is_learnt_and_capped_by_the_setting() -> None:
    predictor = fitted(30)
    shape = TurnShape("cloud", text_bytes=200)
    assert predictor.predict(shape).completion_tokens == pytest.approx(140, abs=15)
    short = TurnShape("cloud", text_bytes=200, max_new_tokens=64)
    assert predictor.predict(short).completion_tokens == 64
    assert predictor.predict(short).cost.usd < predictor.predict(shape).cost.usd


@pytest.mark.parametrize("location", ["cloud", "local"])
def test_interval_covers_about_eighty_percent_of_held_out_turns(location: str) -> None:
    coverage = np.mean([relative_errors(fitted(60, seed, location), 1000 + seed, location=location)[2]
                        for seed in range(5)])
    assert 0.68 <= coverage <= 0.93


def test_online_refit_moves_the_estimate() -> None:
    rng = np.random.default_rng(3)
    predictor = fitted(20)
    shape = TurnShape("cloud", text_bytes=500, images=1, megapixels=0.5, image_tokens=255)
    first = predictor.predict(shape)
    for _ in range(30):  # the endpoint got three times slower
        other = random_shape(rng)
        predictor.observe(other, true_turn(other, rng, slow=3.0))
    later = predictor.predict(shape)
    assert later.cost.latency_s > 2 * first.cost.latency_s
    assert later.turns_seen == first.turns_seen + 30
    local = predictor.predict(TurnShape("local", text_bytes=500))
    assert local.turns_seen == 0  # paths are learnt apart


def test_cancelled_turns_teach_nothing() -> None:
    predictor = fitted(0)
    shape = TurnShape("cloud", text_bytes=100)
    done = true_turn(shape, np.random.default_rng(0))
    done.finish_reason = "cancelled"
    predictor.observe(shape, done)
    assert predictor.predict(shape).turns_seen == 0


def test_shared_by_threads() -> None:
    predictor = fitted(0)
    errors: list[BaseException] = []

    def serve(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for _ in range(100):
                shape = random_shape(rng)
                p = predictor.predict(shape)
                assert p.low.latency_s <= p.cost.latency_s <= p.high.latency_s
                predictor.observe(shape, true_turn(shape, rng))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=serve, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert predictor.predict(TurnShape("cloud", text_bytes=10)).turns_seen == 800


def test_shape_reads_the_measured_attachments_the_action_sends(tmp_path: Path) -> None:
    image = Attachment("image", tmp_path / "a.png", "x", "image/png", width=1000, height=500)
    audio = Attachment("audio", tmp_path / "q.wav", "y", "audio/wav", duration_s=7.5)
    history = [Message("user", "hello"), Message("assistant", "hi there")]
    shape = turn_shape(Action("cloud", (1,)), [image, audio], [], "what?", history, Settings(), 128)
    assert (shape.images, shape.audio, shape.audio_s) == (0, 1, 7.5)
    assert shape.text_bytes == len("what?hellohi there") and shape.max_new_tokens == 128
    both = turn_shape(Action("cloud", (0, 1)), [image, audio], [], "", [], Settings(), 128)
    assert both.images == 1 and both.megapixels == pytest.approx(0.5) and both.image_tokens > 0


def test_engine_tells_the_prediction_with_its_interval_and_refits(tmp_path: Path) -> None:
    from app.card import decision_card, decision_data
    from app.session import Session
    from tests.test_app_engine import make

    engine, store, _, cloud, _ = make(tmp_path)
    session = Session()
    first = list(engine.run(session, "hello there"))[-1].record
    assert first.expected_source == "predicted" and first.expected_range.turns_seen == 0
    # The prior assumes the whole answer-length setting; the fake answers in 2 tokens.
    assert first.expected_range.completion_tokens == engine.settings.max_new_tokens
    second = list(engine.run(session, "hello again"))[-1].record
    assert second.expected_range.turns_seen == 1 and second.expected_range.completion_tokens == 2
    assert second.expected.latency_s < first.expected.latency_s
    row = store.turn(second.turn_id)
    band = json.loads(row["decision"])["expected_range"]
    assert band["level"] == 0.8 and band["latency_s"][0] <= row["expected_latency_s"] <= band["latency_s"][1]
    assert decision_data(second)["expected"]["range"]["cost_usd"] == band["cost_usd"]
    card = decision_card(second)
    low, high = second.expected_range.low.latency_s, second.expected_range.high.latency_s
    shown = f"{second.expected.latency_s:.1f} s (80 %: {low:.1f}–{high:.1f})"
    assert f"predicted from this turn): {shown}" in card


def test_similar_turns_predict_each_others_answer_length() -> None:
    predictor = fitted(0)
    rng = np.random.default_rng(5)
    haiku = frozenset({"write", "a", "haiku", "about", "the", "sea"})
    for words, length in ((haiku, 20), (frozenset({"explain", "prime", "numbers"}), 250),
                          (frozenset({"tips", "for", "sleep"}), 240)):
        shape = TurnShape("cloud", text_bytes=40, words=words)
        done = true_turn(shape, rng)
        done.completion_tokens = length
        predictor.observe(shape, done)
    again = TurnShape("cloud", text_bytes=40, words=haiku - {"sea"} | {"moon"})
    assert predictor.predict(again).completion_tokens == 20
    other = TurnShape("cloud", text_bytes=40, words=frozenset({"capital", "of", "france"}))
    assert predictor.predict(other).completion_tokens == 240  # the median of the kind
