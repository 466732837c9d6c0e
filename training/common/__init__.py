"""What every model family shares: random fields, tiled datasets, CNNs, the seeded train loop,
ONNX export with a card, provenance and script options. No entry points; the families import it."""
