"""An extension (README "Extending"): one new training method and one new attack, defined outside
advreg and named in the config; tests/workflow/test_extension.py runs them through the tiny DAG.

    extensions: [docs/extending/example_extension.py]
    methods: [clean, l1grad]
    method_settings:
      l1grad: {kind: input_grad_l1, lam: 0.05}
    attacks: [fgsm, pgd, sign_noise]
    attack_settings:
      sign_noise: {kind: sign_noise, eps_255: {mnist: [32]}}
"""
from __future__ import annotations

import torch

from advreg.attacks.kinds import register_attack
from advreg.training.methods import Method, register, step_logs
from advreg.base.params import Param
from advreg.sgr.regularizers import loss_and_input_grad


@register("input_grad_l1")
class InputGradL1(Method):
    """Input-gradient ℓ1 regularization: ℓ(x, y) + λ·‖∇ₓℓ(x, y)‖₁ by double backprop, the ℓ∞
    dual of GN's ‖∇ₓℓ‖₂² (a first-order bound on the loss increase under an ℓ∞ perturbation)."""
    params = {"lam": Param("number", lo=0, doc="regularization strength λ")}

    def loss(self, model, x, y):
        ce, g, logits = loss_and_input_grad(model, x, y, create_graph=True, return_logits=True)
        reg = self.cfg["lam"] * g.flatten(1).abs().sum(1).mean()
        # the step's statistics as device tensors (advreg.training.methods.step_logs): no host sync a step
        return ce.mean() + reg, step_logs(ce.mean(), reg, logits, y)


def sign_noise(model, x, eps, generator=None, **params):
    """Random-sign noise at the ε of the ℓ∞ ball, x + ε·s with s ∈ {−1, 1}ⁿ uniform, clipped to
    [0, 1]: the corner of the ball a gradient-free attacker would try first."""
    dev = generator.device if generator is not None else x.device  # a CPU generator: same draws anywhere
    s = torch.rand(x.shape, generator=generator, device=dev).lt(0.5).to(x.device, x.dtype) * 2 - 1
    return (x + eps * s).clamp(0, 1)


# no model pass to craft it; the accuracy check is one forward
register_attack("sign_noise", sign_noise, params={}, passes=lambda cfg, transfer=False: (0, 1))
