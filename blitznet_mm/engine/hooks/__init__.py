from .checkpoint_hook import AtomicCheckpointHook, NonFiniteWeightsError
from .class_count_check_hook import ClassCountCheckHook
from .fast_inference_hook import FastInferenceHook
from .replica_consistency_hook import ReplicaConsistencyHook

__all__ = [
    'AtomicCheckpointHook', 'NonFiniteWeightsError', 'ClassCountCheckHook',
    'FastInferenceHook', 'ReplicaConsistencyHook'
]
