from .checkpoint_hook import AtomicCheckpointHook, NonFiniteWeightsError
from .fast_inference_hook import FastInferenceHook
from .replica_consistency_hook import ReplicaConsistencyHook

__all__ = ['AtomicCheckpointHook', 'NonFiniteWeightsError',
           'FastInferenceHook', 'ReplicaConsistencyHook']
