"""cnnbook.architectures: the milestone networks against their papers, torchvision's totals, and torch.nn builds."""

import pytest

from cnnbook.architectures import (
    LENET5_C3_TABLE,
    LENET5_PAPER_PARAMS,
    RESNET_PAPER_FLOPS,
    TORCHVISION_PARAMS,
    VGG16_PAPER_MILLIONS,
    BasicBlock,
    Bottleneck,
    Conv,
    Dense,
    Flatten,
    Inception,
    Pool,
    alexnet,
    alexnet_torchvision,
    googlenet,
    lenet5,
    network,
    nin_cifar10,
    pool_size,
    resnet18,
    resnet50,
    trace,
    vgg16,
)
from cnnbook.one_by_one import GOOGLENET_3A, alexnet_params, googlenet_params, inception, params

# --- by hand and against the papers -----------------------------------------------------------------


def test_layers_by_hand():
    rows = trace([Conv(96, 11, 4), Pool("max", 3, 2), Conv(256, 5, 1, 2, groups=2)], (3, 227, 227))
    assert [r.output_shape for r in rows] == [(96, 55, 55), (96, 27, 27), (256, 27, 27)]
    assert rows[0].params == 11 * 11 * 3 * 96 + 96 and rows[0].macs == 11 * 11 * 3 * 96 * 55 * 55
    assert rows[2].params == 5 * 5 * 48 * 256 + 256  # two groups: each filter sees half the maps
    assert trace([Flatten(), Dense(10)], (2, 3, 4))[1].macs == 240


def test_pool_ceil_mode_matches_the_rule():
    assert pool_size(112, 3, 2) == 55 and pool_size(112, 3, 2, ceil_mode=True) == 56
    assert pool_size(32, 3, 2, ceil_mode=True) == 16 and pool_size(16, 3, 2, ceil_mode=True) == 8  # NiN
    assert pool_size(5, 2, 2, 1, ceil_mode=True) == 3  # the last window may not start in the right padding


def test_lenet5_is_the_papers_60000():
    net = lenet5()
    assert {r.name: r.params for r in net.rows if r.name in LENET5_PAPER_PARAMS} == LENET5_PAPER_PARAMS
    assert net.params() == sum(LENET5_PAPER_PARAMS.values()) == 60_000
    assert sum(len(row) for row in LENET5_C3_TABLE) == 60 and net.depth() == 7
    assert net.rows[-1].macs == 84 * 10  # the fixed RBF centres: counted as work, not as parameters


def test_totals_against_torchvision_and_the_papers():
    for name, total in TORCHVISION_PARAMS.items():
        assert network(name).params() == total, name
    assert round(vgg16().params() / 1e6) == VGG16_PAPER_MILLIONS
    assert alexnet().params() == alexnet_params() == 60_965_224  # the two-GPU paper network, as in chapter 5
    assert googlenet().params() == googlenet_params()
    for name, flops in RESNET_PAPER_FLOPS.items():
        assert network(name).macs() == pytest.approx(flops, rel=0.02), name
    assert resnet50(stride_in_3x3=True).params() == resnet50().params()
    assert resnet50(stride_in_3x3=True).macs() > resnet50().macs()


def test_depths_are_the_names():
    depths = {n: network(n).depth() for n in ("LeNet-5", "AlexNet", "VGG-16", "GoogLeNet", "ResNet-18", "ResNet-50")}
    assert depths == {"LeNet-5": 7, "AlexNet": 8, "VGG-16": 16, "GoogLeNet": 22, "ResNet-18": 18, "ResNet-50": 50}


def test_blocks_by_hand():
    assert trace([Inception(**{k: v for k, v in GOOGLENET_3A.items() if k != "c_in"})], (192, 28, 28))[0].params == (
        params(inception(**GOOGLENET_3A))
    )
    plain = trace([Bottleneck(64)], (256, 56, 56))[0]
    assert plain.params == 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256)  # identity shortcut
    projected = Bottleneck(64)
    assert projected.shortcut_params((64, 56, 56)) == 64 * 256 + 2 * 256
    assert BasicBlock(64).shortcut_params((64, 56, 56)) == 0
    assert trace([BasicBlock(128, 2)], (64, 56, 56))[0].output_shape == (128, 28, 28)


def test_bad_input_names_what_was_wanted():
    with pytest.raises(ValueError, match=r"fc6 wants an input of shape \(25088,\), got \(8192,\)"):
        trace(vgg16().layers, (3, 128, 128))
    with pytest.raises(ValueError, match=r"F6 wants an input of shape \(120,\)"):
        trace(lenet5().layers, (1, 36, 36))
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\) or \(features,\)"):
        trace(lenet5().layers, (32, 32))
    with pytest.raises(ValueError, match=r"conv wants an input of shape \(C, H, W\), got \(10,\)"):
        trace([Conv(4, 3)], (10,))
    with pytest.raises(ValueError, match=r"wants an input of shape \(features,\); put a Flatten before it"):
        trace([Dense(10)], (3, 4, 4))
    with pytest.raises(ValueError, match="groups=2 must divide 3 inputs"):
        trace([Conv(4, 3, groups=2)], (3, 8, 8))
    with pytest.raises(ValueError, match="mode must be 'max' or 'avg'"):
        Pool("min", 2)
    with pytest.raises(ValueError, match="name must be one of"):
        network("LeNet-6")


# --- against torch.nn builds of the same papers -----------------------------------------------------


def _torch_rows(torch, modules, input_shape):
    """(params, output shape, MACs) per module, run on the meta device (shapes only, no arithmetic)."""
    rows, x = [], torch.empty((1, *input_shape), device="meta")
    for module in modules:
        macs = []

        def hook(layer, _inputs, out, macs=macs):
            if isinstance(layer, torch.nn.Conv2d):
                macs.append(layer.weight.numel() * out.shape[-1] * out.shape[-2])
            elif isinstance(layer, torch.nn.Linear):
                macs.append(layer.weight.numel())

        handles = [m.register_forward_hook(hook) for m in module.modules()]
        x = module(x)
        for h in handles:
            h.remove()
        rows.append((sum(p.numel() for p in module.parameters()), tuple(x.shape[1:]), sum(macs)))
    return rows


def _compare(torch, net, modules):
    ours = [(r.params, r.output_shape, r.macs) for r in net.rows]
    assert _torch_rows(torch, modules, net.input_shape) == ours


@pytest.fixture
def nn():
    torch = pytest.importorskip("torch")
    with torch.device("meta"):
        yield torch.nn


def test_lenet5_against_torch(nn):
    import torch

    class C3(nn.Module):  # one small conv per output map, on the maps of its row of Table I
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv2d(len(row), 1, 5) for row in LENET5_C3_TABLE)

        def forward(self, x):
            return torch.cat([c(x[:, list(row)]) for c, row in zip(self.convs, LENET5_C3_TABLE)], dim=1)

    class Subsample(nn.Module):  # 2x2 average times a trainable coefficient, plus a bias, per map
        def __init__(self, c):
            super().__init__()
            self.coef, self.bias = nn.Parameter(torch.ones(c, 1, 1)), nn.Parameter(torch.zeros(c, 1, 1))

        def forward(self, x):
            return nn.functional.avg_pool2d(x, 2) * self.coef + self.bias

    class RBF(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("centres", torch.zeros(10, 84))  # fixed by hand: a buffer, not a parameter

        def forward(self, x):
            return ((x[:, None, :] - self.centres) ** 2).sum(-1)

    modules = [nn.Conv2d(1, 6, 5), Subsample(6), C3(), Subsample(16), nn.Conv2d(16, 120, 5), nn.Flatten()]
    modules += [nn.Linear(120, 84), RBF()]
    rows = _torch_rows(torch, modules, (1, 32, 32))
    net = lenet5()
    assert [r[:2] for r in rows] == [(r.params, r.output_shape) for r in net.rows]
    assert [r[2] for r in rows[:-1]] == [r.macs for r in net.rows[:-1]]  # the RBF is not a Conv2d/Linear


def _alexnet(nn, widths, groups, lrn, pad1):
    c1, c2, c3, c4, c5 = widths
    modules = [nn.Conv2d(3, c1, 11, 4, pad1)] + ([nn.LocalResponseNorm(5)] if lrn else [])
    modules += [nn.MaxPool2d(3, 2), nn.Conv2d(c1, c2, 5, 1, 2, groups=groups)] + (
        [nn.LocalResponseNorm(5)] if lrn else []
    )
    modules += [nn.MaxPool2d(3, 2), nn.Conv2d(c2, c3, 3, 1, 1), nn.Conv2d(c3, c4, 3, 1, 1, groups=groups)]
    modules += [nn.Conv2d(c4, c5, 3, 1, 1, groups=groups), nn.MaxPool2d(3, 2), nn.Flatten()]
    dense = [nn.Dropout(), nn.Linear(9216, 4096), nn.Dropout(), nn.Linear(4096, 4096), nn.Linear(4096, 1000)]
    return modules + dense


def test_alexnets_against_torch(nn):
    import torch

    _compare(torch, alexnet(), _alexnet(nn, (96, 256, 384, 384, 256), 2, True, 0))
    _compare(torch, alexnet_torchvision(), _alexnet(nn, (64, 192, 384, 256, 256), 1, False, 2))


def test_vgg16_against_torch(nn):
    import torch

    modules, c = [], 3
    for width, convs in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
        for _ in range(convs):
            modules.append(nn.Conv2d(c, width, 3, padding=1))
            c = width
        modules.append(nn.MaxPool2d(2))
    modules += [nn.Flatten(), nn.Linear(25088, 4096), nn.Dropout(), nn.Linear(4096, 4096), nn.Dropout()]
    _compare(torch, vgg16(), modules + [nn.Linear(4096, 1000)])


def test_nin_against_torch(nn):
    import torch

    def mlpconv(c_in, k, pad, widths):
        return [nn.Conv2d(c_in, widths[0], k, padding=pad), nn.Conv2d(widths[0], widths[1], 1)] + [
            nn.Conv2d(widths[1], widths[2], 1)
        ]

    modules = mlpconv(3, 5, 2, (192, 160, 96)) + [nn.MaxPool2d(3, 2, ceil_mode=True), nn.Dropout()]
    modules += mlpconv(96, 5, 2, (192, 192, 192)) + [nn.AvgPool2d(3, 2, ceil_mode=True), nn.Dropout()]
    modules += mlpconv(192, 3, 1, (192, 192, 10)) + [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    _compare(torch, nin_cifar10(), modules)


def test_googlenet_against_torch(nn):
    import torch

    from cnnbook.one_by_one import GOOGLENET_MODULES

    class Inception(nn.Module):
        def __init__(self, c, n1, r3, n3, r5, n5, proj):
            super().__init__()
            self.branches = nn.ModuleList(
                [
                    nn.Conv2d(c, n1, 1),
                    nn.Sequential(nn.Conv2d(c, r3, 1), nn.Conv2d(r3, n3, 3, padding=1)),
                    nn.Sequential(nn.Conv2d(c, r5, 1), nn.Conv2d(r5, n5, 5, padding=2)),
                    nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(c, proj, 1)),
                ]
            )

        def forward(self, x):
            return torch.cat([b(x) for b in self.branches], dim=1)

    def pool():
        return nn.MaxPool2d(3, 2, ceil_mode=True)

    m = {name: Inception(*spec) for name, spec in GOOGLENET_MODULES.items()}
    modules = [nn.Conv2d(3, 64, 7, 2, 3), pool(), nn.LocalResponseNorm(5), nn.Conv2d(64, 64, 1)]
    modules += [nn.Conv2d(64, 192, 3, padding=1), nn.LocalResponseNorm(5), pool(), m["3a"], m["3b"], pool()]
    modules += [m["4a"], m["4b"], m["4c"], m["4d"], m["4e"], pool(), m["5a"], m["5b"], nn.AvgPool2d(7, 1)]
    _compare(torch, googlenet(), modules + [nn.Dropout(0.4), nn.Flatten(), nn.Linear(1024, 1000)])


def _resnet(torch, nn, bottleneck, counts, stride_in_3x3=True):
    """torchvision's ResNet, written out: conv-BN stem, four stages of blocks, average pool, fc."""

    class Block(nn.Module):
        def __init__(self, c_in, width, stride):
            super().__init__()
            out = width * 4 if bottleneck else width
            if bottleneck:
                s1, s3 = (1, stride) if stride_in_3x3 else (stride, 1)
                self.main = nn.Sequential(
                    nn.Conv2d(c_in, width, 1, s1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.Conv2d(width, width, 3, s3, 1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.Conv2d(width, out, 1, bias=False),
                    nn.BatchNorm2d(out),
                )
            else:
                self.main = nn.Sequential(
                    nn.Conv2d(c_in, out, 3, stride, 1, bias=False),
                    nn.BatchNorm2d(out),
                    nn.Conv2d(out, out, 3, 1, 1, bias=False),
                    nn.BatchNorm2d(out),
                )
            self.shortcut = nn.Identity()
            if stride != 1 or c_in != out:
                self.shortcut = nn.Sequential(nn.Conv2d(c_in, out, 1, stride, bias=False), nn.BatchNorm2d(out))
            self.out = out

        def forward(self, x):
            return torch.relu(self.main(x) + self.shortcut(x))

    modules, c = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.MaxPool2d(3, 2, 1)], 64
    for stage, (width, n) in enumerate(zip((64, 128, 256, 512), counts)):
        for i in range(n):
            modules.append(Block(c, width, 2 if i == 0 and stage > 0 else 1))
            c = modules[-1].out
    return modules + [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000)]


def test_resnets_against_torch(nn):
    import torch

    _compare(torch, resnet18(), _resnet(torch, nn, False, (2, 2, 2, 2)))
    _compare(torch, resnet50(stride_in_3x3=True), _resnet(torch, nn, True, (3, 4, 6, 3)))
    _compare(torch, resnet50(), _resnet(torch, nn, True, (3, 4, 6, 3), stride_in_3x3=False))
    modules = _resnet(torch, nn, True, (3, 4, 6, 3))
    assert sum(p.numel() for m in modules for p in m.parameters()) == TORCHVISION_PARAMS["ResNet-50"]
