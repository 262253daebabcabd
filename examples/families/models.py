"""Three multi-task models written as plain PyTorch modules, the way users write them.

* :class:`Ple` -- two levels of PLE (Tang et al., RecSys 2020) in torch-rechub's style: every
  hidden layer Linear -> BatchNorm1d -> ReLU -> Dropout, gates Linear -> BatchNorm1d ->
  Softmax(dim=1), experts concatenated as ``unsqueeze(1)`` and mixed with
  ``torch.sum(torch.mul(gate.unsqueeze(-1), experts), dim=1)``; the sigmoid applied in
  ``forward``; the last level without a shared gate.
* :class:`ActivationMmoe` -- an MMoE in DeepCTR-Torch's style with other activations: GELU and
  LeakyReLU experts (functional), gates with a Tanh hidden layer and a bias-free logit layer,
  ``torch.matmul(gate.softmax(1).unsqueeze(1), torch.stack(experts, 1)).squeeze(1)``, towers
  ending in a bias-free Linear plus a learned scalar bias (DeepCTR-Torch's PredictionLayer);
  one binary task and one regression task.
* :class:`Esmm` -- ESMM (Ma et al., SIGIR 2018) in DeepCTR-Torch's style: CTR and CVR towers
  with BatchNorm (``dnn_use_bn``) reading the input, one scalar bias shared by both logits,
  ``pCTCVR = pCTR * pCVR``; returns ``[pCTR, pCTCVR]``.

Nothing here knows about mmoe-edge: ``mmoe_export.export`` traces them.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(input_dim, dims, dropout=0.0):
    """torch-rechub's MLP without the output layer: Linear -> BatchNorm1d -> ReLU -> Dropout."""
    layers = []
    for d in dims:
        layers += [nn.Linear(input_dim, d), nn.BatchNorm1d(d), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        input_dim = d
    return nn.Sequential(*layers)


class Gate(nn.Module):
    """torch-rechub's gate: Linear -> BatchNorm1d -> Softmax(dim=1) -> Dropout(0)."""

    def __init__(self, input_dim, n):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(input_dim, n), nn.BatchNorm1d(n), nn.Softmax(dim=1), nn.Dropout(0))

    def forward(self, x):
        return self.mlp(x)


class Cgc(nn.Module):
    def __init__(self, level, n_level, n_task, n_specific, n_shared, input_dim, dims, dropout):
        super().__init__()
        self.level, self.n_level, self.n_task, self.n_specific = level, n_level, n_task, n_specific
        self.experts_specific = nn.ModuleList(mlp(input_dim, dims, dropout) for _ in range(n_task * n_specific))
        self.experts_shared = nn.ModuleList(mlp(input_dim, dims, dropout) for _ in range(n_shared))
        self.gates_specific = nn.ModuleList(Gate(input_dim, n_specific + n_shared) for _ in range(n_task))
        if level < n_level:
            self.gate_shared = Gate(input_dim, n_task * n_specific + n_shared)

    def forward(self, x_list):
        specific = []
        for i in range(self.n_task):
            specific.extend([e(x_list[i]).unsqueeze(1)
                             for e in self.experts_specific[i * self.n_specific:(i + 1) * self.n_specific]])
        shared = [e(x_list[-1]).unsqueeze(1) for e in self.experts_shared]
        outs = []
        for i, gate in enumerate(self.gates_specific):
            experts = torch.cat(specific[i * self.n_specific:(i + 1) * self.n_specific] + shared, dim=1)
            outs.append(torch.sum(torch.mul(gate(x_list[i]).unsqueeze(-1), experts), dim=1))
        if self.level < self.n_level:
            experts = torch.cat(specific + shared, dim=1)
            outs.append(torch.sum(torch.mul(self.gate_shared(x_list[-1]).unsqueeze(-1), experts), dim=1))
        return outs


class Ple(nn.Module):
    def __init__(self, input_dim, n_task=2, n_level=2, n_specific=2, n_shared=1, expert_dims=(32, 16),
                 tower_dims=(8,), dropout=0.1):
        super().__init__()
        self.n_task, self.n_level = n_task, n_level
        self.cgc_layers = nn.ModuleList(
            Cgc(i + 1, n_level, n_task, n_specific, n_shared, input_dim if i == 0 else expert_dims[-1],
                list(expert_dims), dropout) for i in range(n_level))
        self.towers = nn.ModuleList(
            nn.Sequential(mlp(expert_dims[-1], list(tower_dims), dropout), nn.Linear(tower_dims[-1], 1))
            for _ in range(n_task))

    def forward(self, x):
        inputs = [x] * (self.n_task + 1)
        for cgc in self.cgc_layers:
            inputs = cgc(inputs)
        ys = [torch.sigmoid(tower(inputs[i])) for i, tower in enumerate(self.towers)]
        return torch.cat(ys, dim=1)


class ActivationMmoe(nn.Module):
    """Task 0 binary (sigmoid), task 1 regression (identity)."""

    def __init__(self, input_dim, n_expert=3, expert_dims=(32, 16), gate_hidden=8, tower_hidden=8):
        super().__init__()
        self.expert_1 = nn.ModuleList(nn.Linear(input_dim, expert_dims[0]) for _ in range(n_expert))
        self.expert_2 = nn.ModuleList(nn.Linear(expert_dims[0], expert_dims[1]) for _ in range(n_expert))
        self.gate_hidden = nn.ModuleList(nn.Linear(input_dim, gate_hidden) for _ in range(2))
        self.gate_final = nn.ModuleList(nn.Linear(gate_hidden, n_expert, bias=False) for _ in range(2))
        self.tower_hidden = nn.ModuleList(nn.Linear(expert_dims[1], tower_hidden) for _ in range(2))
        self.tower_final = nn.ModuleList(nn.Linear(tower_hidden, 1, bias=False) for _ in range(2))
        self.out_bias = nn.ParameterList(nn.Parameter(torch.zeros(1)) for _ in range(2))

    def forward(self, x):
        experts = torch.stack([F.leaky_relu(e2(F.gelu(e1(x))), 0.1)
                               for e1, e2 in zip(self.expert_1, self.expert_2)], 1)
        ys = []
        for t in range(2):
            gate = self.gate_final[t](torch.tanh(self.gate_hidden[t](x)))
            mixed = torch.matmul(gate.softmax(1).unsqueeze(1), experts).squeeze(1)
            logit = self.tower_final[t](F.silu(self.tower_hidden[t](mixed)))
            logit = logit + self.out_bias[t]
            ys.append(torch.sigmoid(logit) if t == 0 else logit)
        return torch.cat(ys, dim=-1)


class Esmm(nn.Module):
    def __init__(self, input_dim, dims=(32, 16)):
        super().__init__()

        def dnn():
            layers, d = [], input_dim
            for h in dims:
                layers += [nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(0.1)]
                d = h
            return nn.Sequential(*layers)

        self.ctr_dnn, self.cvr_dnn = dnn(), dnn()
        self.ctr_final = nn.Linear(dims[-1], 1, bias=False)
        self.cvr_final = nn.Linear(dims[-1], 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(1))  # DeepCTR-Torch's one PredictionLayer for both

    def forward(self, x):
        p_ctr = torch.sigmoid(self.ctr_final(self.ctr_dnn(x)) + self.bias)
        p_cvr = torch.sigmoid(self.cvr_final(self.cvr_dnn(x)) + self.bias)
        p_ctcvr = p_ctr * p_cvr
        return torch.cat([p_ctr, p_ctcvr], -1)
