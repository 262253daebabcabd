"""Replicas of DeepCTR-Torch's and torch-rechub's multi-task models, for the exporter's tests.

Neither library is installable here (no PyPI), so these modules reproduce, from their sources
(DeepCTR-Torch 0.2.9 at f6854257: ``deepctr_torch/inputs.py``, ``layers/core.py``,
``layers/sequence.py``, ``models/basemodel.py``, ``models/multitask/``; torch-rechub 0.8.0 at
5a73b2ee: ``basic/features.py``, ``basic/layers.py``, ``basic/activation.py``,
``models/multi_task/``), the module trees, ``state_dict`` keys, forward computations and
feature classes that the exporter meets in users' models. Training loops, regularisation and
the libraries' other models are left out.
"""
