"""onnxruntime sessions: provider read back, CUDA fallback reported, sessions cached."""

import numpy as np
import onnxruntime
import pytest

from glue_turbml.models import DeviceError, get_session, load_model_file, open_model


def _cuda_runs():
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def test_cpu_session_reports_cpu_provider(carded_classifier_path):
    loaded = load_model_file(carded_classifier_path)
    session, info = get_session(loaded, device="cpu")
    assert session.get_providers()[0] == "CPUExecutionProvider"
    assert info.provider == "CPUExecutionProvider" and info.device == "cpu"


def test_sessions_are_cached_per_model_and_device(carded_classifier_path):
    loaded = load_model_file(carded_classifier_path)
    first, _ = get_session(loaded, device="cpu")
    second, _ = get_session(loaded, device="cpu")
    auto, _ = get_session(loaded, device="auto")
    assert first is second
    assert auto is not first


def test_auto_reports_the_provider_actually_used(carded_classifier_path, capfd):
    loaded = load_model_file(carded_classifier_path)
    session, info = get_session(loaded, device="auto")
    assert info.provider == session.get_providers()[0]
    if info.provider == "CPUExecutionProvider":
        # The fallback must be explained, and onnxruntime's CUDA loading noise kept off stderr.
        assert "CUDA" in info.note
        captured = capfd.readouterr()
        assert "libonnxruntime_providers_cuda" not in captured.err
        assert "Failed to load" not in captured.out + captured.err


def test_cuda_is_used_or_refused_with_a_reason(carded_classifier_path):
    loaded = load_model_file(carded_classifier_path)
    try:
        _, info = get_session(loaded, device="cuda")
    except DeviceError as error:
        assert "device='cpu'" in str(error)
    else:
        assert info.provider == "CUDAExecutionProvider"


def test_unknown_device(carded_classifier_path):
    with pytest.raises(DeviceError, match="device must be one of"):
        get_session(load_model_file(carded_classifier_path), device="tpu")


def test_runner_matches_numpy_reference(carded_classifier_path, carded_classifier,
                                        classifier_reference):
    runner = open_model(carded_classifier_path, device="cpu")
    images = np.random.default_rng(3).normal(size=(7, 1, 24, 40)).astype(np.float32)
    logits = runner.run(images, batch_size=3)
    np.testing.assert_allclose(logits, classifier_reference(carded_classifier, images),
                               rtol=1e-5, atol=1e-5)


def test_a_cpu_fallback_on_auto_is_quiet_but_recorded(carded_classifier_path, tmp_path, capfd):
    """On a machine without CUDA, `auto` says in a few words that it runs on the CPU; no
    library message reaches the user or the FITS header, and the provider is recorded."""
    from astropy.io import fits

    import glue_turbml

    loaded = load_model_file(carded_classifier_path)
    _, info = get_session(loaded, device="auto")
    if info.provider != "CPUExecutionProvider":
        pytest.skip("this machine runs CUDA: nothing falls back")  # the GPU machine's case
    assert info.describe() == "CPUExecutionProvider (no CUDA here; --device cuda says why)"
    image = np.random.default_rng(0).lognormal(size=(128, 128))
    result = glue_turbml.classify(image, model=carded_classifier_path)
    result.write(tmp_path / "out.fits")
    header = fits.getheader(tmp_path / "out.fits")
    assert header["TM_PROV"] == "CPUExecutionProvider"
    assert not any(".so" in line or "CUDA" in line for line in header["HISTORY"])
    captured = capfd.readouterr()
    assert ".so" not in captured.out + captured.err
