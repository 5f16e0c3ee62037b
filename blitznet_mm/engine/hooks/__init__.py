from .checkpoint_hook import AtomicCheckpointHook, NonFiniteWeightsError
from .fast_inference_hook import FastInferenceHook
from .replica_consistency_hook import ReplicaConsistencyHook
from .task_settings_check_hook import (ClassCountCheckHook,
                                       TaskSettingsCheckHook)

__all__ = [
    'AtomicCheckpointHook', 'NonFiniteWeightsError', 'ClassCountCheckHook',
    'FastInferenceHook', 'ReplicaConsistencyHook', 'TaskSettingsCheckHook'
]
