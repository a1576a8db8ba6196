import pytest
import torch
from torch import nn

from sparsenet.models import (MODEL_NAMES, MaskEnforcer, build_model, get_mask, masked_modules,
                              model_options, selected_segment_index)
from sparsenet.continual.presets import PMNIST_NETWORKS
from sparsenet.models.registry import MODELS, REQUIRED, model_names
from sparsenet.models.layers import KWinners, KWinners2d

MNIST, CIFAR, DIGITS = (1, 28, 28), (3, 32, 32), (1, 8, 8)
CTX = 5
SMALL_MLP = {"hidden": (64, 32)}  # full-width MLPs are built once, on MNIST only


def pmnist(name, shape, classes, **kw):
    """Network ``name`` as the permuted-MNIST study chose it (its presets), with ``kw``."""
    return build_model(name, shape, classes, **{**PMNIST_NETWORKS.model_defaults(name), **kw})


def kwargs_for(name, shape):
    kw = PMNIST_NETWORKS.model_defaults(name)
    if MODELS[name].takes_context:
        kw["context_dim"] = CTX
    if name in model_names(family="mlp", continual=True) and shape != MNIST:
        kw.update(SMALL_MLP)
    return kw


@pytest.mark.parametrize("shape", [MNIST, CIFAR, DIGITS], ids=["mnist", "cifar", "digits"])
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_forward_backward(name, shape):
    torch.manual_seed(0)
    model = build_model(name, shape, 7, **kwargs_for(name, shape))
    x = torch.randn(3, *shape)
    ctx = torch.eye(CTX)[:3] if model.uses_context else None
    out = model(x, ctx)
    assert out.shape == (3, 7)
    out.sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None for g in grads)
    assert all(torch.isfinite(g).all() for g in grads)


def test_paper_sizes():
    assert build_model("mnist_conv", MNIST, 10).fcs[0].in_features == 12544
    assert build_model("mnist_conv", MNIST, 10, conv2_padding=0).fcs[0].in_features == 10816
    assert build_model("cnn", CIFAR, 10).fcs[0].in_features == 2048
    assert build_model("conv6", CIFAR, 10).fcs[0].in_features == 256 * 4 * 4
    lenet = build_model("lenet300_100", MNIST, 10)
    assert [m.out_features for _, m, _ in lenet.prunable_layers()] == [300, 100, 10]


def test_too_small_input_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        build_model("conv6", (3, 4, 4), 10)
    with pytest.raises(ValueError, match="too small"):
        build_model("cnn", (1, 2, 2), 10)


def test_prunable_layers_roles():
    lenet = build_model("lenet300_100", MNIST, 10)
    fc = lenet.prunable_layers("fc")
    assert [(n, r) for n, _, r in fc] == [("hidden.0", "hidden"), ("hidden.1", "hidden"),
                                          ("output", "output")]
    assert all(isinstance(m, nn.Linear) for _, m, _ in fc)
    assert lenet.prunable_layers("all") == fc  # no convs

    conv = build_model("mnist_conv", MNIST, 10)
    assert [r for _, _, r in conv.prunable_layers()] == ["hidden", "hidden", "output"]
    roles = [(n, r) for n, _, r in conv.prunable_layers("all")]
    assert roles == [("conv1", "conv"), ("conv2", "conv"), ("fcs.0", "hidden"),
                     ("fcs.1", "hidden"), ("output", "output")]
    with pytest.raises(ValueError, match="unknown prune policy"):
        conv.prunable_layers("convs")


def test_prunable_layers_skip_dendrite_segments():
    model = build_model("active_dendrites_cnn", CIFAR, 10, context_dim=CTX)
    layers = model.prunable_layers("all")
    assert [r for _, _, r in layers] == ["conv", "conv", "hidden", "hidden", "output"]
    assert all(isinstance(m, (nn.Linear, nn.Conv2d)) for _, m, _ in layers)


def test_sparse_variants_have_masks_and_k_winners():
    model = build_model("sparse_cnn", CIFAR, 10)
    assert [type(a) for a in model.conv_acts] == [KWinners2d, KWinners2d]
    assert [type(a) for a in model.fc_acts] == [KWinners, KWinners]
    masked = dict(masked_modules(model))
    assert set(masked) == {"fcs.0", "fcs.1"}  # hidden FCs only; convs and output dense
    for m in masked.values():
        assert (get_mask(m) == 0).float().mean().item() == pytest.approx(0.5, abs=1e-4)
    adn = pmnist("active_dendrites_mlp", MNIST, 10, hidden=(64, 64), context_dim=10)
    # hidden and output sparse as in Numenta's DendriticMLP; dendrite segments dense
    assert set(dict(masked_modules(adn))) == {"hidden.0.base", "hidden.1.base", "output"}
    assert all(isinstance(a, KWinners) for a in adn.activations)
    dendrites_only = pmnist("dendrites_mlp", MNIST, 10, hidden=(64,), context_dim=10)
    assert all(isinstance(a, nn.ReLU) for a in dendrites_only.activations)


def test_k_winners_sparsity_of_hidden_activity():
    torch.manual_seed(0)
    model = pmnist("active_dendrites_mlp", MNIST, 10, hidden=(400, 300), context_dim=10)
    seen = []
    for act in model.activations:
        act.register_forward_hook(lambda m, i, o: seen.append(o))
    model(torch.randn(5, *MNIST), torch.eye(10)[:5])
    assert [(o != 0).sum(1).tolist() for o in seen] == [[20] * 5, [15] * 5]  # 5% of units


def test_context_required_and_checked():
    adn = pmnist("active_dendrites_mlp", MNIST, 10, hidden=(16, 16), context_dim=4)
    x = torch.randn(2, *MNIST)
    with pytest.raises(ValueError, match="needs a context"):
        adn(x)
    with pytest.raises(ValueError, match="context of shape"):
        adn(x, torch.zeros(2, 3))
    # one context row broadcasts to the batch, same result as repeating it
    ctx = torch.eye(4)[1:2]
    assert torch.allclose(adn(x, ctx), adn(x, ctx.repeat(2, 1)), atol=1e-6)
    with pytest.raises(ValueError, match="needs context_dim"):
        build_model("active_dendrites_cnn", CIFAR, 10)
    with pytest.raises(ValueError, match="needs context_dim"):
        pmnist("mlp", MNIST, 10, context_input=True)


def test_context_input_baselines_read_the_context():
    torch.manual_seed(0)
    for name, shape in (("mlp", MNIST), ("sparse_mlp", MNIST), ("cnn", CIFAR),
                        ("sparse_cnn", CIFAR)):
        kw = {**PMNIST_NETWORKS.model_defaults(name), **SMALL_MLP} if name.endswith("mlp") else {}
        model = build_model(name, shape, 10, context_input=True, context_dim=3, **kw)
        assert model.uses_context
        x = torch.randn(2, *shape)
        assert not torch.allclose(model(x, torch.eye(3)[:2]), model(x, torch.eye(3)[1:3]))
        plain = build_model(name, shape, 10, **kw)
        assert not plain.uses_context
        assert torch.equal(plain(x), plain(x, torch.eye(3)[:2]))  # ignored when unused


def test_selected_segments_depend_on_one_hot_context():
    torch.manual_seed(0)
    model = pmnist("active_dendrites_mlp", MNIST, 10, hidden=(128, 128), context_dim=10)
    for layer in model.hidden:
        idx = selected_segment_index(layer.segments(torch.eye(10)))  # (tasks, units)
        for a in range(10):
            for b in range(a + 1, 10):
                assert (idx[a] != idx[b]).float().mean() > 0.5


def test_registry_errors():
    with pytest.raises(ValueError, match="known: lenet300_100"):
        build_model("resnet", MNIST, 10)
    with pytest.raises(TypeError, match="kw_fractoin"):
        build_model("active_dendrites_mlp", MNIST, 10, context_dim=10, kw_fractoin=0.1)
    with pytest.raises(TypeError, match="num_segments"):
        build_model("mlp", MNIST, 10, num_segments=10)
    with pytest.raises(ValueError):
        build_model("mlp", (28, 28), 10)
    with pytest.raises(ValueError, match="cnn"):
        build_model("cifar_backbone", CIFAR, 10, variant="cnn", conv_kw=0.2)
    with pytest.raises(ValueError, match="variant"):
        build_model("cifar_backbone", CIFAR, 10, variant="resnet")
    assert model_options("sparse_cnn")["conv_kw"] == 0.2
    assert "seed" in model_options("lenet300_100")


def test_study_values_are_required_not_defaulted():
    """The registry holds no study's numbers for the MLPs (issue 25): a bare build names
    what it needs in one line, and the neutral class defaults build a dense ReLU network.
    Catches a ``defaults={"kw_fraction": 0.05, ...}`` coming back into a register line."""
    for name, needs in (("mlp", ["hidden"]), ("sparse_mlp", ["hidden", "kw_fraction"]),
                        ("dendrites_mlp", ["hidden", "num_segments"]),
                        ("active_dendrites_mlp", ["hidden", "kw_fraction", "num_segments"])):
        options = model_options(name)
        assert sorted(k for k, v in options.items() if v is REQUIRED) == needs, name
        kw = {"context_dim": 4} if MODELS[name].takes_context else {}
        with pytest.raises(TypeError, match=f"model '{name}' needs option"):
            build_model(name, MNIST, 10, **kw)
    assert model_options("active_dendrites_mlp")["weight_sparsity"] == 0.0
    plain = build_model("sparse_mlp", MNIST, 10, hidden=(16,), kw_fraction=0.25)
    assert not dict(masked_modules(plain))  # weight sparsity neutral: no masks
    assert isinstance(plain.activations[0], KWinners)


def _same_params(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_seeding_reproducible():
    kw = {"hidden": (32, 32), "context_dim": 4}
    torch.manual_seed(1)
    a = pmnist("active_dendrites_mlp", MNIST, 10, **kw)
    torch.manual_seed(1)
    b = pmnist("active_dendrites_mlp", MNIST, 10, **kw)
    assert _same_params(a, b)
    state = torch.random.get_rng_state()
    c = pmnist("active_dendrites_mlp", MNIST, 10, seed=5, **kw)
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG untouched
    d = pmnist("active_dendrites_mlp", MNIST, 10, seed=5, **kw)
    assert _same_params(c, d)
    assert not _same_params(a, c)
    # a generator fixes the masks (only)
    e = pmnist("sparse_mlp", MNIST, 10, hidden=(32,),
                    generator=torch.Generator().manual_seed(2))
    torch.manual_seed(99)  # different weights, same masks
    f = pmnist("sparse_mlp", MNIST, 10, hidden=(32,),
                    generator=torch.Generator().manual_seed(2))
    assert torch.equal(get_mask(e.hidden[0]), get_mask(f.hidden[0]))
    with pytest.raises(ValueError, match="either seed or generator"):
        pmnist("mlp", MNIST, 10, seed=1, generator=torch.Generator())


def test_state_dict_round_trip_with_boosting_and_masks():
    kw = {"hidden": (32, 16), "boost_strength": 1.5}
    a = pmnist("sparse_mlp", MNIST, 10, seed=0, **kw).train()
    a(torch.randn(8, *MNIST))
    b = pmnist("sparse_mlp", MNIST, 10, seed=1, **kw)
    b.load_state_dict(a.state_dict())
    assert _same_params(a, b)
    assert b.activations[0].duty_cycle.sum() > 0
    enforce = MaskEnforcer(b)
    assert len(enforce) == 3  # two hidden layers and the output


def test_initialisation_schemes():
    torch.manual_seed(0)
    lenet = build_model("lenet300_100", MNIST, 10)  # the paper code: xavier normal, N(0, 1) bias
    assert lenet.hidden[0].bias.std() > 0.5
    assert lenet.hidden[0].weight.std().item() == pytest.approx((2 / (784 + 300)) ** 0.5, rel=0.05)
    assert build_model("lenet300_100", MNIST, 10, init="torch").hidden[0].bias.abs().max() < 0.04
    conv = build_model("conv2", DIGITS, 10)  # Frankle & Carbin: Glorot normal, zero bias
    assert all(torch.all(m.bias == 0) for _, m, _ in conv.prunable_layers("all"))
    with pytest.raises(ValueError, match="unknown init"):
        build_model("mnist_conv", MNIST, 10, init="sparse_kaiming")
    # Numenta's sparse-aware init: b = 1/sqrt(input_density * weight_density * fan_in)
    adn = pmnist("active_dendrites_mlp", MNIST, 10, hidden=(400, 300), context_dim=10)
    for layer, bound in ((adn.hidden[0].base, (0.5 * 784) ** -0.5),
                         (adn.hidden[1].base, (0.05 * 0.5 * 400) ** -0.5),
                         (adn.output, (0.05 * 0.5 * 300) ** -0.5)):
        w = layer.weight[layer.weight != 0].abs()
        assert bound * 0.95 < w.max().item() <= bound
    dense = build_model("mlp", MNIST, 10, hidden=(400,))
    assert dense.hidden[0].weight.abs().max().item() <= 784 ** -0.5  # = PyTorch's default bound


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_registry_facts_match_the_built_network(name):
    """An entry's takes_context and prunable roles are what the network really does."""
    entry = MODELS[name]
    model = build_model(name, CIFAR, 10, **kwargs_for(name, CIFAR))
    assert bool(model.uses_context) == entry.takes_context
    assert {role for _, _, role in model.prunable_layers("all")} == set(entry.prunable)


def test_registry_filters_and_class_signature_options():
    assert model_names(takes_context=True) == ("dendrites_mlp", "active_dendrites_mlp",
                                               "active_dendrites_cnn")
    assert model_names(family="cnn", continual=True) == ("cnn", "sparse_cnn",
                                                         "active_dendrites_cnn")
    # options come from the class: a k-winners option of MLP reaches every MLP that offers it
    assert model_options("active_dendrites_mlp")["duty_cycle_period"] == 1000
    assert "kw_fraction" not in model_options("mlp")
    assert "depth" not in model_options("conv4")  # fixed by the entry, not an option
    assert build_model("conv4", CIFAR, 10).depth == 4
