"""Saliency graphs inside exported models: ONNX backward ops, export, add, sanity check, end
step. Entry points: ``python -m training.saliency.add MODEL``, ``... .saliency.sanity MODEL``."""
