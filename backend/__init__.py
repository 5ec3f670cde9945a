"""Qt-free core of Tern: engine, models, hub, metrics, benchmarks and the store."""
