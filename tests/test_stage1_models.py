"""The model registry and every built-in model on the crossbar."""
import pytest
import torch
import torch.nn as nn

import models
from cim import HardwareParams, calibrate, convert_model
from models.datasets import DATASETS

torch.set_num_threads(1)

EXPECTED_LAYERS = {"fmnist_cnn": 4, "lenet5": 5, "vgg8": 8, "resnet18": 21}


def test_registry_lists_builtins_and_rejects_unknown():
    assert set(EXPECTED_LAYERS) <= set(models.list_models())
    with pytest.raises(models.ModelError, match="fmnist_cnn"):
        models.get_model_spec("no_such_model")


@pytest.mark.parametrize("name", sorted(EXPECTED_LAYERS))
def test_builtin_model_maps_and_ideal_hardware_equals_quantized(name):
    spec = models.get_model_spec(name)
    info = DATASETS[spec.dataset]
    torch.manual_seed(0)
    model = models.build_model(name).eval()
    x = torch.rand(2, *info.input_shape)
    ctx = convert_model(model, HardwareParams(sequential=True, rows_parallel=1, on_off_ratio=17.0))
    assert len(ctx.layers) == EXPECTED_LAYERS[name]
    calibrate(model, ctx, [x])
    ctx.prepare_hardware()
    with torch.no_grad():
        ctx.begin_pass()
        with ctx.use("quantized"):
            q = model(x)
        ctx.begin_pass()
        with ctx.use("hardware"):
            h = model(x)
        with ctx.use("float"):
            f = model(x)
    assert q.shape == (2, info.num_classes)
    assert torch.equal(q, h)
    assert torch.allclose(q, f, atol=0.1 * float(f.abs().max()) + 1e-3)
    assert len(ctx.order) == EXPECTED_LAYERS[name]


def test_resnet_shortcuts_are_mapped_with_their_stride():
    model = models.build_model("resnet18").eval()
    ctx = convert_model(model, HardwareParams())
    calibrate(model, ctx, [torch.rand(1, 3, 32, 32)])
    geo = {l.name: l.geometry for l in ctx.layers}
    assert geo["layer2.0.shortcut.0"]["kernel"] == [1, 1] and geo["layer2.0.shortcut.0"]["stride"] == [2, 2]
    assert geo["layer2.0.shortcut.0"]["ifm"] == [32, 32] and geo["layer2.0.shortcut.0"]["ofm"] == [16, 16]
    assert geo["fc"]["type"] == "linear" and geo["fc"]["in_channels"] == 512


def test_user_registered_model(tmp_path):
    class Tiny(nn.Module):
        def __init__(self, num_classes=10, in_channels=1):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(in_channels, 3, 3, stride=2), nn.ReLU(), nn.Flatten(),
                                      nn.Linear(3 * 13 * 13, num_classes))

        def forward(self, x):
            return self.body(x)

    spec = models.register_model("tiny_test_model", Tiny, "fashion_mnist", None, "test")
    try:
        assert models.get_model_spec("tiny_test_model") is spec
        m = models.build_model("tiny_test_model")
        path = tmp_path / "tiny.pt"
        models.save_checkpoint(path, m, "tiny_test_model", {"body.0": 1.0, "body.3": 2.0}, {"note": "x"})
        m2 = models.build_model("tiny_test_model")
        extra = models.load_checkpoint(m2, path)
        assert extra["act_ranges"] == {"body.0": 1.0, "body.3": 2.0} and extra["model"] == "tiny_test_model"
        assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), m2.state_dict().values()))
    finally:
        models.MODELS.pop("tiny_test_model")


def test_shipped_checkpoint_loads_weights_only_and_records_training():
    model = models.build_model("fmnist_cnn")
    extra = models.load_checkpoint(model, models.checkpoint_path(models.get_model_spec("fmnist_cnn")))
    meta = extra["meta"]
    assert meta["float_test_accuracy"] >= 0.90 and meta["command"].startswith("python train.py")
    assert set(extra["act_ranges"]) == {"features.0", "features.3", "classifier.2", "classifier.5"}
    assert (models.ROOT / "checkpoints" / "fmnist_cnn.pt").stat().st_size < 2 * 2 ** 20
