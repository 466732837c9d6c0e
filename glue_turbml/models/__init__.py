"""ONNX models: model cards, safe loading, onnxruntime sessions and the model registry."""

from .card import (CARD_KEY, CARD_SCHEMA_VERSION, ModelCardError, card_schema, read_card,
                   summarize_card, validate_card, weights_sha256, write_card)
from .loader import (ALLOWED_OP_DOMAINS, DEFAULT_MAX_MODEL_MB, LoadedModel, ModelLoadError,
                     load_model_file, max_model_bytes)
from .registry import (ModelEntry, ModelNotFoundError, ModelShadowWarning, list_models,
                       model_search_path, resolve_model, scan_models, shipped_models_dir,
                       user_models_dir)
from .runner import ModelRunner, open_model
from .saliency_graphs import (SALIENCY_GRAPH_METHODS, SaliencyGraphRunner, load_saliency_graph,
                              open_saliency_graph)
from .session import DEVICES, DeviceError, SessionInfo, clear_session_cache, get_session

__all__ = [
    "CARD_KEY", "CARD_SCHEMA_VERSION", "ModelCardError", "card_schema", "read_card",
    "summarize_card", "validate_card", "weights_sha256", "write_card",
    "ALLOWED_OP_DOMAINS", "DEFAULT_MAX_MODEL_MB", "LoadedModel", "ModelLoadError",
    "load_model_file",
    "max_model_bytes",
    "ModelEntry", "ModelNotFoundError", "ModelShadowWarning", "list_models", "model_search_path",
    "resolve_model", "scan_models", "shipped_models_dir", "user_models_dir",
    "ModelRunner", "open_model",
    "SALIENCY_GRAPH_METHODS", "SaliencyGraphRunner", "load_saliency_graph", "open_saliency_graph",
    "DEVICES", "DeviceError", "SessionInfo", "clear_session_cache", "get_session",
]
