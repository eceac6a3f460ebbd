"""strand.torch and DLPack: the PyTorch twin of a strand model gives strand's outputs (within 1e-5) on
DeepSEA, Basset, DanQ and the default cnn, both ways: PyTorch weights saved into strand, and a
strand model file loaded into PyTorch."""
import sys
from pathlib import Path

import numpy as np
import pytest

import strand

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed in this Python (scripts/test.sh installs the CPU "
    "wheel into its venv; here it could not)")
import strand.torch as st  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

# name -> input length (shorter than the published 1000 for DeepSEA and DanQ, which only shrinks
# their dense layer; the default cnn at the simulated data's length, cnn-aligned at a splice
# junction's)
MODELS = {"deepsea": 400, "basset": 600, "danq": 400, "cnn": 200, "cnn-aligned": 60}


def randomize(net, seed):
    """Random weights and (BatchNorm) running statistics, so nothing is at its initial value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.is_floating_point():
                t.copy_((torch.rand(t.shape, generator=g) - 0.5) * 0.2)


@pytest.mark.parametrize("name", MODELS)
def test_twin_matches_strand(name, tmp_path):
    length = MODELS[name]
    info = {"name": name, "length": length, "outputs": 5, "kind": "regression"}
    net = st.build(info)
    randomize(net, seed=len(name))
    path = tmp_path / f"{name}.safetensors"
    st.save(net, path, like=info)  # PyTorch -> strand

    model = strand.load_model(path)
    codes = np.random.default_rng(7).integers(0, 4, (3, length)).astype(np.uint8)
    x = strand.one_hot(codes)
    ours = model.predict(codes)  # regression: raw outputs, no sigmoid
    with torch.no_grad():
        theirs = net.eval()(torch.from_numpy(x)).double().numpy()
    scale = max(1.0, float(np.abs(theirs).max()))
    assert np.abs(ours - theirs).max() <= 1e-5 * scale

    # strand -> PyTorch: the twin built from the file holds the same weights.
    loaded = st.module(path)
    with torch.no_grad():
        again = loaded(torch.from_numpy(x)).double().numpy()
    assert np.array_equal(again, theirs)


def test_bench_twins_have_strand_names():
    """bench/torch_models.py's hand-written twins (the side-by-side benchmarks) keep strand's
    state_dict names and shapes."""
    sys.path.insert(0, str(ROOT / "bench"))
    import torch_models
    for name, (length, outputs) in torch_models.MODELS.items():
        bench = torch_models.build(name, length, outputs).state_dict()
        ours = st.build({"name": name, "length": length, "outputs": outputs}).state_dict()
        assert {k: tuple(v.shape) for k, v in bench.items()} == \
            {k: tuple(v.shape) for k, v in ours.items()}, name


def test_yaml_model_twin(tmp_path):
    spec = ROOT / "examples" / "models" / "deepsea.yaml"
    if not spec.exists():
        pytest.skip(f"{spec} is not in this checkout")
    net = st.build({"name": str(spec), "length": 1000, "outputs": 3})
    assert isinstance(net, torch.nn.Module) and sum(p.numel() for p in net.parameters()) > 0


def test_dlpack_tensors_in_and_out(cli_run, data):
    """A CPU torch tensor goes in through DLPack (read in place); the NumPy result goes back."""
    run, _ = cli_run
    model = strand.load_model(run / "model.safetensors")
    expected = model.predict(data["codes"][:50])
    codes = torch.from_numpy(data["codes"][:50])
    assert np.array_equal(model.predict(codes), expected)
    strided = torch.from_numpy(np.ascontiguousarray(data["codes"][:50].T)).T  # a strided view
    assert np.array_equal(model.predict(strided), expected)
    hot = torch.from_numpy(strand.one_hot(data["codes"][:50]))
    np.testing.assert_allclose(model.predict(hot), expected, rtol=0, atol=1e-6)
    assert torch.equal(torch.from_dlpack(expected), torch.from_numpy(expected))
    with pytest.raises(strand.StrandError, match="expected dtype uint8|uint8 base codes"):
        model.predict(codes.to(torch.int64))
