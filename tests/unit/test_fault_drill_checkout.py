"""The fault drill drives another checkout's worker as that checkout can be driven: plain
and unsigned before the payload codec and identities were wired into its worker."""

from __future__ import annotations

from pathlib import Path

from bench.faults_world import HERE, Checkout


def _checkout(root: Path, *files: str, worker: str = "") -> Path:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("", encoding="utf-8")
    (root / "starter").mkdir(exist_ok=True)
    (root / "starter" / "worker.py").write_text(worker, encoding="utf-8")
    return root


def test_this_checkout_seals_and_signs():
    assert Checkout.of(HERE) == Checkout(HERE, seals=True, signs=True)


def test_a_checkout_from_before_the_codec_is_driven_plain_and_unsigned(tmp_path: Path):
    code = _checkout(tmp_path, worker="from temporalio.worker import Worker\n")
    assert Checkout.of(code) == Checkout(code, seals=False, signs=False)
    assert Checkout.of(code).describe() == (
        "payloads plain (before the payload codec), requests unsigned (before identities)"
    )


def test_a_codec_its_worker_does_not_use_yet_is_not_used(tmp_path: Path):
    # As on main between the codec's modules landing and its merge into the worker.
    code = _checkout(tmp_path, "protection/codec.py", worker="from temporalio import worker\n")
    assert not Checkout.of(code).seals


def test_a_checkout_with_the_codec_and_without_identities_is_sealed_and_unsigned(
    tmp_path: Path,
):
    worker = "from protection.codec import data_converter\n"
    code = _checkout(tmp_path, "protection/codec.py", worker=worker)
    assert Checkout.of(code) == Checkout(code, seals=True, signs=False)
