"""Certified lower bounds on robust accuracy by bound propagation (IBP, CROWN,
alpha-CROWN) and local Lipschitz bounds, for ``nn.Sequential`` models of Linear, Conv2d,
ReLU, BatchNorm (folded), AvgPool/MaxPool and Flatten layers.

Why not auto_LiRPA: version 0.3 (the release on PyPI) does not import on this stack
(torch 2.13, numpy 2): measured, it needed five source patches (``numpy.lib.arraysetops``,
``np.bool``, ``torch._six``, ``torch.onnx.symbolic_helper._set_opset_version`` and
``torch._C.Node`` subscripting) before it bounded a small conv net, and it pins
``torch<1.13``. The propagation here is written for the supported layers and checked
against brute force in the tests and against the patched auto_LiRPA in
``benchmarks/certify.py``.
"""

from __future__ import annotations

from perturbo.kinds.attack.certify.api import METHODS, CertifyResult, certified_summary, certify
from perturbo.kinds.attack.certify.layers import SUPPORTED

__all__ = ["METHODS", "SUPPORTED", "CertifyResult", "certified_summary", "certify"]
