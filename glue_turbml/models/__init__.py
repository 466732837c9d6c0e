"""ONNX models: model cards, safe loading, onnxruntime sessions and the model registry."""

from .card import (CARD_KEY, CARD_SCHEMA_VERSION, ModelCardError, card_schema, read_card,
                   summarize_card, validate_card, weights_sha256, write_card)

__all__ = [
    "CARD_KEY", "CARD_SCHEMA_VERSION", "ModelCardError", "card_schema", "read_card",
    "summarize_card", "validate_card", "weights_sha256", "write_card",
]
