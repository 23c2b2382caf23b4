"""The Open Inference Protocol v2 (REST): datatypes, signatures, request and response bodies."""
