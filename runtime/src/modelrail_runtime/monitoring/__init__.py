"""What the service tells Prometheus: its registry, prediction metrics, drift against training.

Each component registers its own metric families in the application's registry (the HTTP
middleware, the data plane, the model state, the monitor, the prediction-log writer);
`registry` holds what is shared.
"""
