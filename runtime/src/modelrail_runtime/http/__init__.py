"""The HTTP front end: the FastAPI application, thin routes, pure ASGI middleware, errors."""
