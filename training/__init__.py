"""Training side of glue-turbml (needs torch): fields, datasets, nets, training, ONNX export."""
