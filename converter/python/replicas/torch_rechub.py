"""torch-rechub 0.8.0's multi-task models, as their sources build and compute them.

Module trees and state_dict keys as in the library: ``embedding.embed_dict.<feature>.weight``,
``experts.{k}.mlp.{4i}.*`` (Linear) and ``.mlp.{4i+1}.*`` (BatchNorm1d), gates
``gates.{t}.mlp.0`` / ``.mlp.1`` (Linear, BatchNorm1d, then Softmax), towers ending in
``mlp.{4n}`` (Linear to 1), ``cgc_layers.{l}.experts_specific.{k}`` ... The inputs are a dict of
tensors by feature name.
"""

import numpy as np
import torch
import torch.nn as nn


# -- basic/initializers.py, basic/features.py ---------------------------------------------------

class RandomNormal(object):
    def __init__(self, mean=0.0, std=1.0):
        self.mean, self.std = mean, std

    def __call__(self, vocab_size, embed_dim, padding_idx=None):
        embed = torch.nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        torch.nn.init.normal_(embed.weight, self.mean, self.std)
        if padding_idx is not None:
            with torch.no_grad():
                embed.weight[padding_idx].zero_()
        return embed


def get_auto_embedding_dim(num_classes):
    return int(np.floor(6 * np.power(num_classes, 0.25)))


class SequenceFeature(object):
    def __init__(self, name, vocab_size, embed_dim=None, pooling="mean", shared_with=None, padding_idx=None,
                 initializer=RandomNormal(0, 0.0001)):
        self.name, self.vocab_size = name, vocab_size
        self.embed_dim = get_auto_embedding_dim(vocab_size) if embed_dim is None else embed_dim
        self.pooling, self.shared_with, self.padding_idx, self.initializer = pooling, shared_with, padding_idx, initializer

    def get_embedding_layer(self):
        if not hasattr(self, "embed"):
            self.embed = self.initializer(self.vocab_size, self.embed_dim, padding_idx=self.padding_idx)
        return self.embed


class SparseFeature(object):
    def __init__(self, name, vocab_size, embed_dim=None, shared_with=None, padding_idx=None,
                 initializer=RandomNormal(0, 0.0001)):
        self.name, self.vocab_size = name, vocab_size
        self.embed_dim = get_auto_embedding_dim(vocab_size) if embed_dim is None else embed_dim
        self.shared_with, self.padding_idx, self.initializer = shared_with, padding_idx, initializer

    def get_embedding_layer(self):
        if not hasattr(self, "embed"):
            self.embed = self.initializer(self.vocab_size, self.embed_dim, padding_idx=self.padding_idx)
        return self.embed


class DenseFeature(object):
    def __init__(self, name, embed_dim=1):
        self.name, self.embed_dim = name, embed_dim


# -- basic/activation.py, basic/layers.py -------------------------------------------------------

def activation_layer(act_name):
    if isinstance(act_name, str):
        if act_name.lower() == "sigmoid":
            return nn.Sigmoid()
        if act_name.lower() == "relu":
            return nn.ReLU(inplace=True)
        if act_name.lower() == "prelu":
            return nn.PReLU()
        if act_name.lower() == "softmax":
            return nn.Softmax(dim=1)
        if act_name.lower() == "leakyrelu":
            return nn.LeakyReLU()
        raise NotImplementedError(act_name)
    if issubclass(act_name, nn.Module):
        return act_name()
    raise NotImplementedError


class PredictionLayer(nn.Module):
    def __init__(self, task_type="classification"):
        super().__init__()
        if task_type not in ["classification", "regression"]:
            raise ValueError("task_type must be classification or regression")
        self.task_type = task_type

    def forward(self, x):
        if self.task_type == "classification":
            x = torch.sigmoid(x)
        return x


class InputMask(nn.Module):
    def forward(self, x, features):
        mask = []
        if not isinstance(features, list):
            features = [features]
        for fea in features:
            if isinstance(fea, (SparseFeature, SequenceFeature)):
                if fea.padding_idx is not None:
                    fea_mask = x[fea.name].long() != fea.padding_idx
                else:
                    fea_mask = x[fea.name].long() != -1
                mask.append(fea_mask.unsqueeze(1).float())
            else:
                raise ValueError("Only SparseFeature or SequenceFeature support to get mask.")
        return torch.cat(mask, dim=1)


class ConcatPooling(nn.Module):
    def forward(self, x, mask=None):
        return x


class AveragePooling(nn.Module):
    def forward(self, x, mask=None):
        if mask is None:
            return torch.mean(x, dim=1)
        sum_pooling_matrix = torch.bmm(mask, x).squeeze(1)
        non_padding_length = mask.sum(dim=-1)
        return sum_pooling_matrix / (non_padding_length.float() + 1e-16)


class SumPooling(nn.Module):
    def forward(self, x, mask=None):
        if mask is None:
            return torch.sum(x, dim=1)
        return torch.bmm(mask, x).squeeze(1)


class EmbeddingLayer(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.features = features
        self.embed_dict = nn.ModuleDict()
        self.n_dense = 0
        for fea in features:
            if fea.name in self.embed_dict:
                continue
            if isinstance(fea, SparseFeature) and fea.shared_with is None:
                self.embed_dict[fea.name] = fea.get_embedding_layer()
            elif isinstance(fea, SequenceFeature) and fea.shared_with is None:
                self.embed_dict[fea.name] = fea.get_embedding_layer()
            elif isinstance(fea, DenseFeature):
                self.n_dense += 1
        self.input_mask = InputMask()

    def forward(self, x, features, squeeze_dim=False):
        sparse_emb, dense_values = [], []
        sparse_exists, dense_exists = False, False
        for fea in features:
            if isinstance(fea, SparseFeature):
                table = self.embed_dict[fea.name if fea.shared_with is None else fea.shared_with]
                sparse_emb.append(table(x[fea.name].long()).unsqueeze(1))
            elif isinstance(fea, SequenceFeature):
                if fea.pooling == "sum":
                    pooling_layer = SumPooling()
                elif fea.pooling == "mean":
                    pooling_layer = AveragePooling()
                elif fea.pooling == "concat":
                    pooling_layer = ConcatPooling()
                else:
                    raise ValueError("Sequence pooling method supports only pooling in %s, got %s." %
                                     (["sum", "mean"], fea.pooling))
                fea_mask = self.input_mask(x, fea)
                table = self.embed_dict[fea.name if fea.shared_with is None else fea.shared_with]
                sparse_emb.append(pooling_layer(table(x[fea.name].long()), fea_mask).unsqueeze(1))
            else:
                dense_values.append(x[fea.name].float() if x[fea.name].float().dim() > 1
                                    else x[fea.name].float().unsqueeze(1))
        if len(dense_values) > 0:
            dense_exists = True
            dense_values = torch.cat(dense_values, dim=1)
        if len(sparse_emb) > 0:
            sparse_exists = True
            sparse_emb = torch.cat(sparse_emb, dim=1)
        if squeeze_dim:
            if dense_exists and not sparse_exists:
                return dense_values
            elif not dense_exists and sparse_exists:
                return sparse_emb.flatten(start_dim=1)
            elif dense_exists and sparse_exists:
                return torch.cat((sparse_emb.flatten(start_dim=1), dense_values), dim=1)
            raise ValueError("The input features can not be empty")
        if sparse_exists:
            return sparse_emb
        raise ValueError("If keep the original shape:[batch_size, num_features, embed_dim], expected %s in "
                         "feature list, got %s" % ("SparseFeatures", features))


class MLP(nn.Module):
    def __init__(self, input_dim, output_layer=True, dims=None, dropout=0, activation="relu"):
        super().__init__()
        if dims is None:
            dims = []
        layers = list()
        for i_dim in dims:
            layers.append(nn.Linear(input_dim, i_dim))
            layers.append(nn.BatchNorm1d(i_dim))
            layers.append(activation_layer(activation))
            layers.append(nn.Dropout(p=dropout))
            input_dim = i_dim
        if output_layer:
            layers.append(nn.Linear(input_dim, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)


# -- models/multi_task/ ------------------------------------------------------------------------

class MMOE(nn.Module):
    def __init__(self, features, task_types, n_expert, expert_params, tower_params_list):
        super().__init__()
        self.features = features
        self.task_types = task_types
        self.n_task = len(task_types)
        self.n_expert = n_expert
        self.embedding = EmbeddingLayer(features)
        self.input_dims = sum([fea.embed_dim for fea in features])
        self.experts = nn.ModuleList(MLP(self.input_dims, output_layer=False, **expert_params)
                                     for i in range(self.n_expert))
        self.gates = nn.ModuleList(MLP(self.input_dims, output_layer=False,
                                       **{"dims": [self.n_expert], "activation": "softmax"})
                                   for i in range(self.n_task))
        self.towers = nn.ModuleList(MLP(expert_params["dims"][-1], **tower_params_list[i]) for i in range(self.n_task))
        self.predict_layers = nn.ModuleList(PredictionLayer(task_type) for task_type in task_types)

    def forward(self, x):
        embed_x = self.embedding(x, self.features, squeeze_dim=True)
        expert_outs = [expert(embed_x).unsqueeze(1) for expert in self.experts]
        expert_outs = torch.cat(expert_outs, dim=1)
        gate_outs = [gate(embed_x).unsqueeze(-1) for gate in self.gates]
        ys = []
        for gate_out, tower, predict_layer in zip(gate_outs, self.towers, self.predict_layers):
            expert_weight = torch.mul(gate_out, expert_outs)
            expert_pooling = torch.sum(expert_weight, dim=1)
            tower_out = tower(expert_pooling)
            ys.append(predict_layer(tower_out))
        return torch.cat(ys, dim=1)


class CGC(nn.Module):
    def __init__(self, cur_level, n_level, n_task, n_expert_specific, n_expert_shared, input_dims, expert_params):
        super().__init__()
        self.cur_level, self.n_level, self.n_task = cur_level, n_level, n_task
        self.n_expert_specific, self.n_expert_shared = n_expert_specific, n_expert_shared
        self.n_expert_all = n_expert_specific * self.n_task + n_expert_shared
        input_dims = input_dims if cur_level == 1 else expert_params["dims"][-1]
        self.experts_specific = nn.ModuleList(MLP(input_dims, output_layer=False, **expert_params)
                                              for _ in range(self.n_task * self.n_expert_specific))
        self.experts_shared = nn.ModuleList(MLP(input_dims, output_layer=False, **expert_params)
                                            for _ in range(self.n_expert_shared))
        self.gates_specific = nn.ModuleList(MLP(
            input_dims, **{"dims": [self.n_expert_specific + self.n_expert_shared], "activation": "softmax",
                           "output_layer": False}) for _ in range(self.n_task))
        if cur_level < n_level:
            self.gate_shared = MLP(input_dims, **{"dims": [self.n_expert_all], "activation": "softmax",
                                                  "output_layer": False})

    def forward(self, x_list):
        expert_specific_outs = []
        for i in range(self.n_task):
            expert_specific_outs.extend([expert(x_list[i]).unsqueeze(1) for expert in self.experts_specific[
                i * self.n_expert_specific:(i + 1) * self.n_expert_specific]])
        expert_shared_outs = [expert(x_list[-1]).unsqueeze(1) for expert in self.experts_shared]
        gate_specific_outs = [gate(x_list[i]).unsqueeze(-1) for i, gate in enumerate(self.gates_specific)]
        cgc_outs = []
        for i, gate_out in enumerate(gate_specific_outs):
            cur_expert_list = expert_specific_outs[i * self.n_expert_specific:(i + 1) * self.n_expert_specific] + \
                expert_shared_outs
            expert_concat = torch.cat(cur_expert_list, dim=1)
            expert_weight = torch.mul(gate_out, expert_concat)
            cgc_outs.append(torch.sum(expert_weight, dim=1))
        if self.cur_level < self.n_level:
            gate_shared_out = self.gate_shared(x_list[-1]).unsqueeze(-1)
            expert_concat = torch.cat(expert_specific_outs + expert_shared_outs, dim=1)
            expert_weight = torch.mul(gate_shared_out, expert_concat)
            cgc_outs.append(torch.sum(expert_weight, dim=1))
        return cgc_outs


class PLE(nn.Module):
    def __init__(self, features, task_types, n_level, n_expert_specific, n_expert_shared, expert_params,
                 tower_params_list):
        super().__init__()
        self.features = features
        self.n_task = len(task_types)
        self.task_types = task_types
        self.n_level = n_level
        self.input_dims = sum([fea.embed_dim for fea in features])
        self.embedding = EmbeddingLayer(features)
        self.cgc_layers = nn.ModuleList(
            CGC(i + 1, n_level, self.n_task, n_expert_specific, n_expert_shared, self.input_dims, expert_params)
            for i in range(n_level))
        self.towers = nn.ModuleList(MLP(expert_params["dims"][-1], **tower_params_list[i])
                                    for i in range(self.n_task))
        self.predict_layers = nn.ModuleList(PredictionLayer(task_type) for task_type in task_types)

    def forward(self, x):
        embed_x = self.embedding(x, self.features, squeeze_dim=True)
        ple_inputs = [embed_x] * (self.n_task + 1)
        ple_outs = []
        for i in range(self.n_level):
            ple_outs = self.cgc_layers[i](ple_inputs)
            ple_inputs = ple_outs
        ys = []
        for ple_out, tower, predict_layer in zip(ple_outs, self.towers, self.predict_layers):
            tower_out = tower(ple_out)
            ys.append(predict_layer(tower_out))
        return torch.cat(ys, dim=1)


class SharedBottom(nn.Module):
    def __init__(self, features, task_types, bottom_params, tower_params_list):
        super().__init__()
        self.features = features
        self.task_types = task_types
        self.embedding = EmbeddingLayer(features)
        self.bottom_dims = sum([fea.embed_dim for fea in features])
        self.bottom_mlp = MLP(self.bottom_dims, **{**bottom_params, **{"output_layer": False}})
        self.towers = nn.ModuleList(MLP(bottom_params["dims"][-1], **tower_params_list[i])
                                    for i in range(len(task_types)))
        self.predict_layers = nn.ModuleList(PredictionLayer(task_type) for task_type in task_types)

    def forward(self, x):
        input_bottom = self.embedding(x, self.features, squeeze_dim=True)
        x = self.bottom_mlp(input_bottom)
        ys = []
        for tower, predict_layer in zip(self.towers, self.predict_layers):
            ys.append(predict_layer(tower(x)))
        return torch.cat(ys, dim=1)


class ESMM(nn.Module):
    def __init__(self, user_features, item_features, cvr_params, ctr_params):
        super().__init__()
        self.user_features = user_features
        self.item_features = item_features
        self.embedding = EmbeddingLayer(user_features + item_features)
        self.tower_dims = len(user_features) * user_features[0].embed_dim + \
            len(item_features) * item_features[0].embed_dim
        self.tower_cvr = MLP(self.tower_dims, **cvr_params)
        self.tower_ctr = MLP(self.tower_dims, **ctr_params)

    def forward(self, x):
        _batch_size = self.embedding(x, self.user_features, squeeze_dim=False).shape[0]
        embed_user_features = self.embedding(x, self.user_features, squeeze_dim=False).reshape(_batch_size, -1)
        embed_item_features = self.embedding(x, self.item_features, squeeze_dim=False).reshape(_batch_size, -1)
        input_tower = torch.cat((embed_user_features, embed_item_features), dim=1)
        cvr_logit = self.tower_cvr(input_tower)
        ctr_logit = self.tower_ctr(input_tower)
        cvr_pred = torch.sigmoid(cvr_logit)
        ctr_pred = torch.sigmoid(ctr_logit)
        ctcvr_pred = torch.mul(ctr_pred, cvr_pred)
        ys = [cvr_pred, ctr_pred, ctcvr_pred]
        return torch.cat(ys, dim=1)
