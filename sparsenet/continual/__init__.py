"""Continual learning pieces: accuracy matrix + metrics, task contexts, synaptic intelligence."""

from sparsenet.continual.contexts import (CONTEXT_KINDS, INFER_MODES, NoContext, OneHotContext,
                                          PrototypeContext, TaskContexts, build_contexts)
from sparsenet.continual.metrics import AccuracyMatrix, bwt, forgetting, mean_accuracy
from sparsenet.continual.si import SynapticIntelligence

__all__ = ["AccuracyMatrix", "bwt", "forgetting", "mean_accuracy", "CONTEXT_KINDS",
           "INFER_MODES", "TaskContexts", "NoContext", "OneHotContext", "PrototypeContext",
           "build_contexts", "SynapticIntelligence"]
